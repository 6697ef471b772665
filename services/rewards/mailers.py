"""Email adapters: SMTP for real servers, the log for the embedded default."""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from services.rewards.interfaces import Mailer, MailError, MailRejected, OutgoingEmail
from services.rewards.settings import RewardsSettings

log = logging.getLogger(__name__)

SMTP_SCHEMES = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


class SmtpMailer:
    """Sends through an SMTP server: ``smtp://``, ``smtp+starttls://`` or ``smtps://``."""

    def __init__(
        self, url: str, *, username: str = "", password: str = "", timeout: float = 10.0
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in SMTP_SCHEMES or not parts.hostname:
            raise ValueError(
                f"SMTP_URL must look like smtp://host:port or smtp+starttls://host:port: {url!r}"
            )
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or SMTP_SCHEMES[parts.scheme]
        self.username = unquote(parts.username or "") or username
        self.password = unquote(parts.password or "") or password
        self.timeout = timeout

    def send(self, email: OutgoingEmail, *, sender: str) -> None:
        message = EmailMessage()
        message["From"] = sender
        message["To"] = email.to
        message["Subject"] = email.subject
        message.set_content(email.text)
        try:
            with self._connect() as client:
                if self.username:
                    client.login(self.username, self.password)
                client.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            raise MailRejected(f"the SMTP server refused {email.to}: {exc}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise MailError(f"SMTP {self.host}:{self.port} failed: {exc}") from exc

    def _connect(self) -> smtplib.SMTP:
        if self.scheme == "smtps":
            return smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        if self.scheme == "smtp+starttls":
            client.starttls(context=ssl.create_default_context())
        return client


class LogMailer:
    """The embedded default: the email goes to the log, where a developer reads it."""

    def send(self, email: OutgoingEmail, *, sender: str) -> None:
        log.info(
            "email (SMTP_URL unset, not sent) from %s to %s: %s\n%s",
            sender,
            email.to,
            email.subject,
            email.text,
        )


def build_mailer(settings: RewardsSettings) -> Mailer:
    """SMTP when ``SMTP_URL`` is set, otherwise the log."""
    if not settings.smtp_url:
        return LogMailer()
    return SmtpMailer(
        settings.smtp_url,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value(),
        timeout=settings.smtp_timeout_seconds,
    )

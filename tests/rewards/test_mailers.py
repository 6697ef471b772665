"""Every mailer behaves the same on the same cases; SMTP errors become MailError."""

from __future__ import annotations

import logging

import pytest

from fanfare.embedded import free_port
from services.rewards.interfaces import Mailer, MailError, OutgoingEmail
from services.rewards.mailers import LogMailer, SmtpMailer, build_mailer
from tests.rewards.conftest import rewards_settings
from tests.support.smtp import SmtpServer

EMAIL = OutgoingEmail(to="ada@example.org", subject="Thank you", text="You earned 10 points.")
SENDER = "Fanfare <thanks@fanfare.test>"


def received_by_smtp(inbox: SmtpServer) -> str:
    [mail] = inbox.wait_for(1)
    return f"{mail.message['To']}|{mail.message['Subject']}|{mail.message.get_content()}"


@pytest.mark.parametrize("kind", ["smtp", "log"])
def test_every_mailer_delivers_the_address_subject_and_text(
    kind: str, smtp_inbox: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    # given a mailer of each kind
    mailer: Mailer = SmtpMailer(smtp_inbox.url) if kind == "smtp" else LogMailer()

    # when it sends a thank-you
    with caplog.at_level(logging.INFO, logger="services.rewards.mailers"):
        mailer.send(EMAIL, sender=SENDER)

    # then the address, subject and text arrive where that mailer puts them
    seen = received_by_smtp(smtp_inbox) if kind == "smtp" else caplog.text
    for part in ("ada@example.org", "Thank you", "You earned 10 points."):
        assert part in seen


def test_an_unreachable_smtp_server_raises_the_domain_error() -> None:
    # given an SMTP URL where nothing listens
    mailer = SmtpMailer(f"smtp://127.0.0.1:{free_port()}", timeout=2)

    # when it sends, then the vendor error comes back as MailError
    with pytest.raises(MailError, match=r"SMTP 127\.0\.0\.1"):
        mailer.send(EMAIL, sender=SENDER)


def test_the_settings_choose_the_mailer() -> None:
    # given settings with and without SMTP_URL, then the right mailer is built
    empty = rewards_settings("sqlite:///x.db", "redis://127.0.0.1:1/0")
    smtp = rewards_settings(
        "sqlite:///x.db", "redis://127.0.0.1:1/0", smtp_url="smtp+starttls://mail:2525"
    )
    assert isinstance(build_mailer(empty), LogMailer)
    built = build_mailer(smtp)
    assert isinstance(built, SmtpMailer)
    assert (built.scheme, built.host, built.port) == ("smtp+starttls", "mail", 2525)


def test_a_malformed_smtp_url_is_refused_with_the_expected_shape() -> None:
    with pytest.raises(ValueError, match="smtp://host:port"):
        SmtpMailer("http://mail:25")

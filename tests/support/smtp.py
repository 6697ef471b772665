"""A real SMTP server for tests: ``aiosmtpd`` on a free 127.0.0.1 port, keeping every message.

Fixtures: ``smtp_server`` (one per session) and ``smtp_inbox`` (the same server, emptied
before the test)::

    def test_mail(smtp_inbox: SmtpServer) -> None:
        send_something(smtp_url=smtp_inbox.url)
        [mail] = smtp_inbox.wait_for(1)
        assert mail.message["Subject"] == "Hello"
"""

from __future__ import annotations

import email
import email.policy
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

_HOST = "127.0.0.1"


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage
    raw: bytes


class _Handler:
    """aiosmtpd handler: parses each message and hands it to the server's inbox."""

    def __init__(self, server: SmtpServer) -> None:
        self._server = server

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        raw: bytes = envelope.original_content or envelope.content
        # SMTP carries CRLF line ends; parse with newlines as a mailbox would store them, so
        # that get_content() gives back the text that was sent. ``raw`` keeps the wire form.
        message = email.message_from_bytes(raw.replace(b"\r\n", b"\n"), policy=email.policy.default)
        self._server._deliver(
            ReceivedMail(
                mail_from=str(envelope.mail_from),
                rcpt_tos=tuple(str(rcpt) for rcpt in envelope.rcpt_tos),
                message=message,
                raw=raw,
            )
        )
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((_HOST, 0))
        port: int = sock.getsockname()[1]
        return port


class SmtpServer:
    """An aiosmtpd ``Controller`` on 127.0.0.1; received mail is in :attr:`messages`."""

    def __init__(self) -> None:
        self.host = _HOST
        self.port = 0
        self._messages: list[ReceivedMail] = []
        self._changed = threading.Condition()
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    @property
    def messages(self) -> list[ReceivedMail]:
        """A snapshot of everything received so far, oldest first."""
        with self._changed:
            return list(self._messages)

    def _deliver(self, mail: ReceivedMail) -> None:
        with self._changed:
            self._messages.append(mail)
            self._changed.notify_all()

    def clear(self) -> None:
        with self._changed:
            self._messages.clear()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedMail]:
        """Block until at least ``count`` messages arrived; return them all."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self._messages) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        f"expected {count} message(s) within {timeout}s, got {len(self._messages)}"
                    )
                self._changed.wait(remaining)
            return list(self._messages)

    def start(self) -> None:
        if self._controller is not None:
            raise RuntimeError("SmtpServer already started")
        for attempt in range(3):
            self.port = _free_port()
            controller = Controller(_Handler(self), hostname=self.host, port=self.port)
            try:
                controller.start()
            except OSError:
                # The port was taken between picking and binding; the controller's thread has
                # ended without closing its event loop. Close it and pick another port.
                controller.loop.close()
                if attempt == 2:
                    raise
                continue
            self._controller = controller
            return

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def __enter__(self) -> SmtpServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SmtpServer]:
    """A running SMTP server shared by the whole test session."""
    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def smtp_inbox(smtp_server: SmtpServer) -> SmtpServer:
    """The session SMTP server with its inbox emptied for this test."""
    smtp_server.clear()
    return smtp_server

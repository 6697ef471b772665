"""The outside systems rewards talks to, as protocols, with the domain's errors beside them.

Nothing above an adapter imports smtplib or a gift-card vendor's client; each
adapter turns its vendor's failures into the exceptions below.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol


@dataclass(frozen=True)
class OutgoingEmail:
    to: str
    subject: str
    text: str


class MailError(Exception):
    """The email could not be handed over; worth retrying later."""


class MailRejected(MailError):
    """The server refused the message for good (bad address); retrying will not help."""


class Mailer(Protocol):
    def send(self, email: OutgoingEmail, *, sender: str) -> None:
        """Hand ``email`` to the mail system or raise :class:`MailError`."""


@dataclass(frozen=True)
class GiftCardPurchase:
    """What a provider answered: a card now, or an order it will fulfil later."""

    status: Literal["FULFILLED", "PENDING"]
    reference: str
    card_code: str | None = None


class GiftCardError(Exception):
    """The provider could not take the order now; retry with the same idempotency key."""


class GiftCardRejected(GiftCardError):
    """The provider refused the order for good (unsupported amount or currency)."""


class GiftCardProvider(Protocol):
    name: str

    def purchase(
        self, *, idempotency_key: str, amount_cents: int, currency: str
    ) -> GiftCardPurchase:
        """Buy one card; the same ``idempotency_key`` never buys a second one."""


class TaskQueue(Protocol):
    def enqueue(self, task_name: str, *args: object) -> None:
        """Send a task for the workers; may raise if the broker is down."""

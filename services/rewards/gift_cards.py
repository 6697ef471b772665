"""Gift-card orders: placed with a provider under the reward's idempotency key.

An order row is written in the transaction that earns the card; a task then
calls the provider with the order's idempotency key, so a retried task (or a
redelivered one) can never buy a second card. The manual provider leaves the
order PENDING in a queue that marketers work through.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import and_, insert, select, update
from sqlalchemy.orm import Session

from services.common.db import Database
from services.common.utc_time import utcnow
from services.rewards.errors import AlreadyDone, NotFound
from services.rewards.interfaces import GiftCardProvider
from services.rewards.models import gift_card_orders

log = logging.getLogger(__name__)

PENDING = "PENDING"
FULFILLED = "FULFILLED"
CANCELLED = "CANCELLED"
PURCHASE_TASK = "rewards.purchase_gift_card"


def place_gift_card_order(
    session: Session,
    *,
    idempotency_key: str,
    fan_id: str,
    amount_cents: int,
    currency: str,
    provider_name: str,
    reward_id: int | None = None,
    redemption_id: int | None = None,
) -> int:
    """Record an order to buy; the purchase task sends it to the provider after commit."""
    return int(
        session.execute(
            insert(gift_card_orders)
            .values(
                idempotency_key=idempotency_key,
                reward_id=reward_id,
                redemption_id=redemption_id,
                fan_id=fan_id,
                amount_cents=amount_cents,
                currency=currency,
                provider=provider_name,
                status=PENDING,
                created_at=utcnow(),
            )
            .returning(gift_card_orders.c.id)
        ).scalar_one()
    )


def purchase_gift_card(db: Database, *, order_id: int, provider: GiftCardProvider) -> str:
    """Send a PENDING order to the provider once; returns the order's status afterwards.

    The provider is called outside any transaction (it may be slow); the
    idempotency key makes a repeated call after a crash return the same card.
    """
    with db.transaction() as session:
        order = (
            session.execute(select(gift_card_orders).where(gift_card_orders.c.id == order_id))
            .mappings()
            .first()
        )
    if order is None:
        return "missing"
    if order["status"] != PENDING or order["provider_reference"]:
        return str(order["status"])
    purchase = provider.purchase(
        idempotency_key=order["idempotency_key"],
        amount_cents=int(order["amount_cents"]),
        currency=str(order["currency"]),
    )
    values: dict[str, Any] = {"provider_reference": purchase.reference}
    if purchase.status == FULFILLED:
        values |= {"status": FULFILLED, "card_code": purchase.card_code, "fulfilled_at": utcnow()}
    with db.transaction() as session:
        session.execute(
            update(gift_card_orders)
            .where(and_(gift_card_orders.c.id == order_id, gift_card_orders.c.status == PENDING))
            .values(**values)
        )
    return purchase.status


def list_gift_card_orders(session: Session, *, status: str | None) -> list[dict[str, Any]]:
    """The marketers' queue: oldest first."""
    query = select(gift_card_orders).order_by(gift_card_orders.c.id)
    if status:
        query = query.where(gift_card_orders.c.status == status)
    return [dict(row) for row in session.execute(query.limit(500)).mappings()]


def fulfil_gift_card_order(
    session: Session, *, order_id: int, card_code: str, fulfilled_by: str | None
) -> dict[str, Any]:
    """A marketer bought the card by hand: store its code for the fan to see."""
    row = (
        session.execute(
            update(gift_card_orders)
            .where(and_(gift_card_orders.c.id == order_id, gift_card_orders.c.status == PENDING))
            .values(
                status=FULFILLED,
                card_code=card_code,
                fulfilled_by=fulfilled_by,
                fulfilled_at=utcnow(),
            )
            .returning(*gift_card_orders.c)
        )
        .mappings()
        .first()
    )
    if row is not None:
        return dict(row)
    exists = session.scalar(
        select(gift_card_orders.c.status).where(gift_card_orders.c.id == order_id)
    )
    if exists is None:
        raise NotFound(f"No gift-card order has id {order_id}.")
    raise AlreadyDone(f"Gift-card order {order_id} is {exists} already; nothing to fulfil.")


def cancel_pending_orders_of_reward(session: Session, *, reward_id: int) -> None:
    session.execute(
        update(gift_card_orders)
        .where(
            and_(gift_card_orders.c.reward_id == reward_id, gift_card_orders.c.status == PENDING)
        )
        .values(status=CANCELLED)
    )


def unsent_orders(session: Session, *, older_than: datetime) -> list[int]:
    """PENDING orders never handed to the provider (their task was lost)."""
    rows = session.execute(
        select(gift_card_orders.c.id)
        .where(
            and_(
                gift_card_orders.c.status == PENDING,
                gift_card_orders.c.provider_reference.is_(None),
                gift_card_orders.c.created_at < older_than,
            )
        )
        .order_by(gift_card_orders.c.id)
        .limit(1000)
    )
    return [int(order_id) for (order_id,) in rows]

"""The catalog, and redeeming points for its items.

A redemption is one transaction: take the points only if the balance covers
them (a conditional UPDATE that locks the fan's account row), take one unit
of stock the same way, claim a code or place a gift-card order, and write the
ledger entries. Anything that fails rolls all of it back.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, insert, select, update
from sqlalchemy.orm import Session

from services.common.outbox import Outbox
from services.common.utc_time import utcnow
from services.rewards import code_banks, ledger
from services.rewards.errors import InsufficientPoints, InvalidInput, NotFound, OutOfStock
from services.rewards.gift_cards import PURCHASE_TASK, place_gift_card_order
from services.rewards.interfaces import TaskQueue
from services.rewards.models import bank_codes, catalog_items, gift_card_orders, redemptions
from services.rewards.sql import enqueue_after_commit

ITEM_KINDS = ("CODE", "GIFT_CARD", "MERCH")


@dataclass(frozen=True)
class RedemptionContext:
    outbox: Outbox
    gift_card_provider: str
    queue: TaskQueue | None


def create_item(session: Session, *, data: dict[str, Any]) -> dict[str, Any]:
    """Add a catalog item."""
    _check_item(session, data)
    now = utcnow()
    item_id = session.execute(
        insert(catalog_items)
        .values(**data, created_at=now, updated_at=now)
        .returning(catalog_items.c.id)
    ).scalar_one()
    return get_item(session, item_id=int(item_id))


def update_item(session: Session, *, item_id: int, changes: dict[str, Any]) -> dict[str, Any]:
    """Change an item's fields (stock, cost, active...)."""
    merged = {**get_item(session, item_id=item_id), **changes}
    _check_item(session, merged)
    session.execute(
        update(catalog_items)
        .where(catalog_items.c.id == item_id)
        .values(**changes, updated_at=utcnow())
    )
    return get_item(session, item_id=item_id)


def _check_item(session: Session, data: dict[str, Any]) -> None:
    kind = data.get("kind")
    if kind == "CODE" and not data.get("code_bank_id"):
        raise InvalidInput(
            "A CODE item needs code_bank_id.", details={"fields": {"code_bank_id": ["Required."]}}
        )
    if data.get("code_bank_id") is not None:
        # Any kind may name a bank, and the name must hold (the foreign key would refuse it).
        try:
            code_banks.get_code_bank(session, bank_id=int(data["code_bank_id"]))
        except NotFound as exc:
            raise InvalidInput(
                exc.message, details={"fields": {"code_bank_id": ["No such code bank."]}}
            ) from exc
    if kind == "GIFT_CARD" and not (
        data.get("gift_card_amount_cents") and data.get("gift_card_currency")
    ):
        raise InvalidInput(
            "A GIFT_CARD item needs gift_card_amount_cents and gift_card_currency.",
            details={"fields": {"gift_card_amount_cents": ["Required."]}},
        )


def get_item(session: Session, *, item_id: int) -> dict[str, Any]:
    row = (
        session.execute(select(catalog_items).where(catalog_items.c.id == item_id))
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"No catalog item has id {item_id}.")
    return dict(row)


def list_items(session: Session, *, include_inactive: bool) -> list[dict[str, Any]]:
    query = select(catalog_items).order_by(catalog_items.c.cost_points, catalog_items.c.id)
    if not include_inactive:
        query = query.where(catalog_items.c.active.is_(True))
    return [dict(row) for row in session.execute(query).mappings()]


def redeem_item(
    session: Session,
    *,
    fan_id: str,
    item_id: int,
    idempotency_key: str | None,
    context: RedemptionContext,
) -> dict[str, Any]:
    """Spend points on an item; the same idempotency key returns the first redemption."""
    account_id = ledger.ensure_fan_account(session, fan_id)
    key = idempotency_key or str(uuid.uuid4())
    earlier = _redemption_by_key(session, account_id, key)
    if earlier is not None:
        return earlier
    item = get_item(session, item_id=item_id)
    if not item["active"]:
        raise NotFound(f"Catalog item {item_id} is not available.")
    cost = int(item["cost_points"])
    if not ledger.withdraw_points(session, fan_account_id=account_id, amount=cost):
        balance = ledger.read_fan_account(session, account_id).balance
        raise InsufficientPoints(
            f"This item costs {cost} points and the balance is {balance}.",
            details={"cost_points": cost, "balance": balance},
        )
    if item["stock"] is not None:
        took = session.execute(
            update(catalog_items)
            .where(and_(catalog_items.c.id == item_id, catalog_items.c.stock > 0))
            .values(stock=catalog_items.c.stock - 1)
            .returning(catalog_items.c.id)
        ).first()
        if took is None:
            raise OutOfStock(f"“{item['name']}” is out of stock.")
    code_id = None
    if item["kind"] == "CODE":
        code = code_banks.claim_code(
            session, bank_id=int(item["code_bank_id"]), outbox=context.outbox
        )
        if code is None:
            raise OutOfStock(f"“{item['name']}” has no codes left.")
        code_id = code.id
    redemption_id = int(
        session.execute(
            insert(redemptions)
            .values(
                account_id=account_id,
                fan_id=fan_id,
                item_id=item_id,
                cost_points=cost,
                idempotency_key=key,
                code_id=code_id,
                created_at=utcnow(),
            )
            .returning(redemptions.c.id)
        ).scalar_one()
    )
    ledger.record_withdrawal(
        session, fan_account_id=account_id, amount=cost, redemption_id=redemption_id
    )
    if item["kind"] == "GIFT_CARD":
        order_id = place_gift_card_order(
            session,
            idempotency_key=f"redemption:{redemption_id}",
            fan_id=fan_id,
            amount_cents=int(item["gift_card_amount_cents"]),
            currency=str(item["gift_card_currency"]),
            provider_name=context.gift_card_provider,
            redemption_id=redemption_id,
        )
        enqueue_after_commit(session, context.queue, PURCHASE_TASK, order_id)
    found = _redemption_by_key(session, account_id, key)
    assert found is not None
    return found


def redemption_query() -> Any:
    return (
        select(
            redemptions,
            catalog_items.c.name.label("item_name"),
            bank_codes.c.code.label("code"),
            gift_card_orders.c.status.label("gift_card_status"),
            gift_card_orders.c.card_code.label("gift_card_code"),
        )
        .join(catalog_items, catalog_items.c.id == redemptions.c.item_id)
        .outerjoin(bank_codes, bank_codes.c.id == redemptions.c.code_id)
        .outerjoin(gift_card_orders, gift_card_orders.c.redemption_id == redemptions.c.id)
    )


def _redemption_by_key(session: Session, account_id: int, key: str) -> dict[str, Any] | None:
    row = (
        session.execute(
            redemption_query().where(
                and_(redemptions.c.account_id == account_id, redemptions.c.idempotency_key == key)
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row is not None else None

"""The rewards service's records in the shape the GraphQL types read."""

from __future__ import annotations

from typing import Any

from gateway.core.inputs import enum_value, to_json

REWARD_KINDS = ("POINTS", "BADGE", "DISCOUNT_CODE", "GIFT_CARD", "THANK_YOU_NOTE")
REWARD_STATUSES = ("PENDING", "ISSUED", "DELIVERED", "REVERSED", "FAILED")
# Rewards says AWAITING_STOCK for a code promised but not yet in the bank.
STATUS_ALIASES = {"AWAITING_STOCK": "PENDING"}
CATALOG_KINDS = {"CODE": "DISCOUNT_CODE", "GIFT_CARD": "GIFT_CARD", "MERCH": "THANK_YOU_NOTE"}


def reward_record(item: dict[str, Any], *, fan_id: str | None) -> dict[str, Any]:
    status = str(item.get("status") or "").upper()
    if item.get("reversed_at"):
        status = "REVERSED"
    return {
        "__typename": "Reward",
        "id": str(item.get("id")),
        "fan_id": fan_id,
        "kind": enum_value(item.get("kind"), REWARD_KINDS, "POINTS"),
        "status": enum_value(STATUS_ALIASES.get(status, status), REWARD_STATUSES, "ISSUED"),
        "title": item.get("rule_name") or item.get("item_name") or "Thank you",
        "points": item.get("points"),
        "code": item.get("code") or item.get("gift_card_code"),
        "note": item.get("note"),
        "reason": item.get("pack_title") or item.get("event_type") or "",
        "issued_at": item.get("created_at") or item.get("occurred_at"),
    }


def catalog_record(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "__typename": "CatalogItem",
        "id": str(item.get("id")),
        "title": item.get("name") or "",
        "kind": CATALOG_KINDS.get(str(item.get("kind") or "").upper(), "DISCOUNT_CODE"),
        "cost_points": int(item.get("cost_points") or 0),
        "remaining": item.get("stock"),
    }


def queue_filter(status: Any, *, done: str) -> dict[str, str]:
    """The ``status`` query of a rewards queue for a QueueStatus (PENDING if none).

    Each queue names its own finished state (``FULFILLED`` cards, ``WRITTEN`` notes).
    """
    value = to_json(status) if status is not None else "PENDING"
    return {"status": done if value == "DONE" else value}

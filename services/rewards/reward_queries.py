"""Reading rewards with what a person needs to see: pack title, code, gift card."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from services.rewards.models import bank_codes, gift_card_orders, packs, rewards, rules


def reward_details_query() -> Select[Any]:
    return (
        select(
            rewards,
            rules.c.name.label("rule_name"),
            packs.c.title.label("pack_title"),
            bank_codes.c.code.label("code"),
            gift_card_orders.c.status.label("gift_card_status"),
            gift_card_orders.c.card_code.label("gift_card_code"),
        )
        .join(rules, rules.c.id == rewards.c.rule_id)
        .outerjoin(packs, packs.c.pack_id == rewards.c.pack_id)
        .outerjoin(bank_codes, bank_codes.c.id == rewards.c.code_id)
        .outerjoin(gift_card_orders, gift_card_orders.c.reward_id == rewards.c.id)
    )


def reward_details(session: Session, reward_id: int) -> dict[str, Any] | None:
    row = session.execute(reward_details_query().where(rewards.c.id == reward_id)).mappings()
    found = row.first()
    return dict(found) if found is not None else None

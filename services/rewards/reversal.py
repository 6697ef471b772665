"""Clawing back what a refunded conversion earned, by reversing entries, never editing them."""

from __future__ import annotations

import logging

from sqlalchemy import and_, delete, select, update
from sqlalchemy.orm import Session

from services.common.utc_time import utcnow
from services.rewards import ledger
from services.rewards.gift_cards import cancel_pending_orders_of_reward
from services.rewards.issuance import AWAITING_STOCK, ISSUED, REVERSED, IssuanceContext
from services.rewards.models import deliveries, fan_badges, ledger_entries, rewards
from services.rewards.tiers import move_tier_if_needed

log = logging.getLogger(__name__)


def reverse_conversion(session: Session, *, conversion_id: str, context: IssuanceContext) -> int:
    """Reverse every live reward the conversion earned; returns how many were reversed now.

    Points come back through reversing journals, a badge it earned is taken
    back, a gift card not yet fulfilled is cancelled, and a thank-you not yet
    sent is dropped; a code already handed out stays with the fan.
    The status flip is conditional, so a second reversal event (or a second
    delivery of the first) finds nothing left to reverse. The balance may go
    below zero if the points were spent; redemptions then wait for it to
    become positive again.
    """
    candidates = session.execute(
        select(rewards.c.id, rewards.c.status).where(
            and_(
                rewards.c.conversion_id == conversion_id,
                rewards.c.status.in_((ISSUED, AWAITING_STOCK)),
            )
        )
    ).all()
    reversed_now = 0
    for reward_id, status in candidates:
        flipped = session.execute(
            update(rewards)
            .where(and_(rewards.c.id == reward_id, rewards.c.status == status))
            .values(status=REVERSED, reversed_at=utcnow())
            .returning(rewards.c.id)
        ).first()
        if flipped is None:
            continue
        _reverse_points(session, int(reward_id), context)
        cancel_pending_orders_of_reward(session, reward_id=int(reward_id))
        session.execute(delete(fan_badges).where(fan_badges.c.reward_id == reward_id))
        session.execute(
            update(deliveries)
            .where(and_(deliveries.c.reward_id == reward_id, deliveries.c.status == "PENDING"))
            .values(status="CANCELLED")
        )
        reversed_now += 1
    log.info("conversion %s: %d reward(s) reversed", conversion_id, reversed_now)
    return reversed_now


def _reverse_points(session: Session, reward_id: int, context: IssuanceContext) -> None:
    grants = session.execute(
        select(ledger_entries)
        .where(and_(ledger_entries.c.reward_id == reward_id, ledger_entries.c.kind == ledger.GRANT))
        .order_by(ledger_entries.c.id)
    ).mappings()
    by_journal: dict[str, list[dict[str, object]]] = {}
    for entry in grants:
        by_journal.setdefault(str(entry["journal_id"]), []).append(dict(entry))
    for entries in by_journal.values():
        fan_entry = next(e for e in entries if int(str(e["amount"])) > 0)
        program_entry = next(e for e in entries if e is not fan_entry)
        account = ledger.post_journal(
            session,
            fan_account_id=int(str(fan_entry["account_id"])),
            program_code=ledger.POINTS_ISSUED,
            amount=-int(str(fan_entry["amount"])),
            kind=ledger.REVERSAL,
            reward_id=reward_id,
            reverses=(int(str(fan_entry["id"])), int(str(program_entry["id"]))),
        )
        move_tier_if_needed(
            session,
            account_id=account.id,
            fan_id=account.fan_id,
            current_tier=account.tier,
            lifetime_points=account.lifetime_points,
            thresholds=context.thresholds,
            outbox=context.outbox,
        )

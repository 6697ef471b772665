"""Tiers from lifetime points, and the event that tells everyone when a fan moves."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from services.common.outbox import Outbox
from services.rewards.models import accounts
from services.rewards.settings import TIER_ORDER

TIER_CHANGED = "rewards.tier_changed"


def tier_for(lifetime_points: int, thresholds: dict[str, int]) -> str:
    """The highest tier whose threshold ``lifetime_points`` reaches."""
    reached = "FAN"
    for tier in TIER_ORDER:
        if lifetime_points >= thresholds[tier]:
            reached = tier
    return reached


def tier_rank(tier: str) -> int:
    return TIER_ORDER.index(tier) if tier in TIER_ORDER else 0


def move_tier_if_needed(
    session: Session,
    *,
    account_id: int,
    fan_id: str | None,
    current_tier: str,
    lifetime_points: int,
    thresholds: dict[str, int],
    outbox: Outbox,
) -> str:
    """Store the tier ``lifetime_points`` earns; announce it when it differs. Returns it.

    The caller holds the account row (it just updated it), so the compare and
    the write cannot interleave with another transaction's.
    """
    new_tier = tier_for(lifetime_points, thresholds)
    if new_tier == current_tier:
        return new_tier
    session.execute(update(accounts).where(accounts.c.id == account_id).values(tier=new_tier))
    if fan_id is not None:
        outbox.add(
            session,
            TIER_CHANGED,
            {
                "fan_id": fan_id,
                "old_tier": current_tier,
                "new_tier": new_tier,
                "lifetime_points": lifetime_points,
            },
        )
    return new_tier

"""Fan profiles (upserted by the gateway), summaries, rewards, export and erasure."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.orm import Session

from services.common.sql import insert_ignoring_conflicts
from services.common.utc_time import utcnow
from services.rewards.catalog import redemption_query
from services.rewards.errors import NotFound
from services.rewards.models import (
    accounts,
    deliveries,
    email_days,
    fan_badges,
    fan_profiles,
    gift_card_orders,
    handwritten_notes,
    ledger_entries,
    redemptions,
    rewards,
    rule_fan_counters,
    wall_posts,
)
from services.rewards.reward_queries import reward_details_query

PROFILE_DEFAULTS = {"thank_you_channel": "PRIVATE_EMAIL", "show_on_leaderboard": True}


def put_profile(session: Session, *, fan_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """Create or replace a fan's profile (fields left out take their defaults)."""
    now = utcnow()
    values = {"email": None, "display_name": None, **PROFILE_DEFAULTS, **data, "updated_at": now}
    session.execute(
        insert_ignoring_conflicts(session, fan_profiles).values(
            fan_id=fan_id, created_at=now, **values
        )
    )
    session.execute(update(fan_profiles).where(fan_profiles.c.fan_id == fan_id).values(**values))
    return get_profile(session, fan_id=fan_id)


def patch_profile(session: Session, *, fan_id: str, changes: dict[str, Any]) -> dict[str, Any]:
    """Change some of a fan's profile fields, e.g. the thank-you channel."""
    get_profile(session, fan_id=fan_id)
    session.execute(
        update(fan_profiles)
        .where(fan_profiles.c.fan_id == fan_id)
        .values(**changes, updated_at=utcnow())
    )
    return get_profile(session, fan_id=fan_id)


def get_profile(session: Session, *, fan_id: str) -> dict[str, Any]:
    row = (
        session.execute(select(fan_profiles).where(fan_profiles.c.fan_id == fan_id))
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"Fan {fan_id} has no rewards profile; PUT one first.")
    return dict(row)


def fan_summaries(session: Session, *, fan_ids: list[str]) -> list[dict[str, Any]]:
    """Balance, lifetime points, tier and badges of each fan (unknown fans start at zero)."""
    found = {
        row["fan_id"]: row
        for row in session.execute(
            select(accounts).where(accounts.c.fan_id.in_(fan_ids))
        ).mappings()
    }
    badges: dict[str, list[dict[str, Any]]] = {}
    for row in session.execute(
        select(fan_badges).where(fan_badges.c.fan_id.in_(fan_ids)).order_by(fan_badges.c.awarded_at)
    ).mappings():
        badges.setdefault(row["fan_id"], []).append(
            {"code": row["badge_code"], "awarded_at": row["awarded_at"]}
        )
    summaries = []
    for fan_id in dict.fromkeys(fan_ids):
        account = found.get(fan_id)
        summaries.append(
            {
                "fan_id": fan_id,
                "balance": int(account["balance"]) if account else 0,
                "lifetime_points": int(account["lifetime_points"]) if account else 0,
                "tier": account["tier"] if account else "FAN",
                "badges": badges.get(fan_id, []),
            }
        )
    return summaries


def fan_rewards_page(
    session: Session, *, fan_id: str, first: int, after: int | None
) -> tuple[list[dict[str, Any]], bool]:
    """A page of a fan's rewards, newest first; and whether more follow."""
    query = reward_details_query().where(rewards.c.fan_id == fan_id).order_by(rewards.c.id.desc())
    if after is not None:
        query = query.where(rewards.c.id < after)
    rows = [dict(row) for row in session.execute(query.limit(first + 1)).mappings()]
    return rows[:first], len(rows) > first


def fan_rewards_by_ids(
    session: Session, *, fan_id: str, reward_ids: list[int]
) -> list[dict[str, Any]]:
    """The fan's rewards among ``reward_ids``, newest first (others' are not found)."""
    query = (
        reward_details_query()
        .where(rewards.c.fan_id == fan_id, rewards.c.id.in_(reward_ids))
        .order_by(rewards.c.id.desc())
    )
    return [dict(row) for row in session.execute(query).mappings()]


def count_fan_rewards(session: Session, *, fan_id: str) -> int:
    return int(session.scalar(select(func.count()).where(rewards.c.fan_id == fan_id)) or 0)


def fan_redemptions(session: Session, *, fan_id: str) -> list[dict[str, Any]]:
    query = redemption_query().where(redemptions.c.fan_id == fan_id).order_by(redemptions.c.id)
    return [dict(row) for row in session.execute(query).mappings()]


def export_fan(session: Session, *, fan_id: str) -> dict[str, Any]:
    """Everything rewards holds about a fan."""
    profile = (
        session.execute(select(fan_profiles).where(fan_profiles.c.fan_id == fan_id))
        .mappings()
        .first()
    )
    account_id = session.scalar(select(accounts.c.id).where(accounts.c.fan_id == fan_id))
    entries: Any = (
        session.execute(
            select(ledger_entries)
            .where(ledger_entries.c.account_id == account_id)
            .order_by(ledger_entries.c.id)
        ).mappings()
        if account_id is not None
        else []
    )
    return {
        "fan_id": fan_id,
        "profile": dict(profile) if profile else None,
        "summary": fan_summaries(session, fan_ids=[fan_id])[0],
        "rewards": [
            dict(row)
            for row in session.execute(
                reward_details_query().where(rewards.c.fan_id == fan_id).order_by(rewards.c.id)
            ).mappings()
        ],
        "redemptions": fan_redemptions(session, fan_id=fan_id),
        "ledger": [dict(row) for row in entries],
        "wall_posts": [
            dict(row)
            for row in session.execute(
                select(wall_posts).where(wall_posts.c.fan_id == fan_id)
            ).mappings()
        ],
        "handwritten_notes": [
            dict(row)
            for row in session.execute(
                select(handwritten_notes).where(handwritten_notes.c.fan_id == fan_id)
            ).mappings()
        ],
    }


def erase_fan(session: Session, *, fan_id: str) -> None:
    """Erase the fan's personal data; the ledger keeps its anonymous totals.

    The account loses its fan id (its entries stay, so every total still
    balances); rewards, redemptions and orders lose theirs; the profile, wall
    posts, notes, badges and per-fan counters go.
    """
    session.execute(
        update(accounts).where(accounts.c.fan_id == fan_id).values(fan_id=None, updated_at=utcnow())
    )
    session.execute(
        update(rewards).where(rewards.c.fan_id == fan_id).values(fan_id=None, note=None)
    )
    session.execute(update(redemptions).where(redemptions.c.fan_id == fan_id).values(fan_id=None))
    session.execute(
        update(gift_card_orders)
        .where(gift_card_orders.c.fan_id == fan_id)
        .values(fan_id=None, card_code=None)
    )
    session.execute(
        update(deliveries)
        .where(
            and_(
                deliveries.c.fan_id == fan_id,
                deliveries.c.status.in_(("PENDING", "DIGEST_PENDING")),
            )
        )
        .values(status="CANCELLED")
    )
    session.execute(update(deliveries).where(deliveries.c.fan_id == fan_id).values(fan_id=None))
    for table in (wall_posts, handwritten_notes, fan_badges, email_days, rule_fan_counters):
        session.execute(delete(table).where(table.c.fan_id == fan_id))
    session.execute(delete(fan_profiles).where(fan_profiles.c.fan_id == fan_id))

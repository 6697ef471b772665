"""The leaderboard: points earned in a period, from the ledger, by display name only."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from services.rewards.ledger import LIFETIME_KINDS
from services.rewards.models import accounts, fan_profiles, ledger_entries

PERIODS = {"week": timedelta(days=7), "month": timedelta(days=30), "all": None}


def leaderboard(
    session: Session, *, period: str, now: datetime, first: int
) -> list[dict[str, Any]]:
    """Top fans by points earned (grants less reversals) in the rolling period.

    Only fans with a display name who have not hidden themselves are listed.
    """
    points = func.sum(ledger_entries.c.amount).label("points")
    conditions = [
        ledger_entries.c.kind.in_(LIFETIME_KINDS),
        accounts.c.kind == "FAN",
        fan_profiles.c.show_on_leaderboard.is_(True),
        fan_profiles.c.display_name.is_not(None),
    ]
    window = PERIODS[period]
    if window is not None:
        conditions.append(ledger_entries.c.created_at >= now - window)
    query = (
        select(fan_profiles.c.display_name, points)
        .select_from(ledger_entries)
        .join(accounts, accounts.c.id == ledger_entries.c.account_id)
        .join(fan_profiles, fan_profiles.c.fan_id == accounts.c.fan_id)
        .where(and_(*conditions))
        .group_by(accounts.c.id, fan_profiles.c.display_name)
        .having(func.sum(ledger_entries.c.amount) > 0)
        .order_by(points.desc(), accounts.c.id)
        .limit(first)
    )
    return [
        {"rank": rank, "display_name": name, "points": int(total)}
        for rank, (name, total) in enumerate(session.execute(query).all(), start=1)
    ]

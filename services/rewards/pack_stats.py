"""Rewards given for deeds on each pack: the last step of the console's funnel."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.rewards.issuance import REVERSED
from services.rewards.models import rewards


def pack_reward_stats(session: Session, *, pack_ids: list[str]) -> list[dict[str, Any]]:
    """Rewards issued and points issued per pack, one grouped query for all packs.

    Reversed rewards (a refunded conversion) are left out: the funnel shows
    what fans kept. A reward waiting for a code counts, since it was earned.
    Packs nobody was rewarded for come back at zero, so every id asked is
    answered.
    """
    rows = session.execute(
        select(
            rewards.c.pack_id,
            func.count().label("rewards_issued"),
            func.coalesce(func.sum(rewards.c.points), 0).label("points_issued"),
        )
        .where(rewards.c.pack_id.in_(pack_ids), rewards.c.status != REVERSED)
        .group_by(rewards.c.pack_id)
    ).all()
    found = {str(row.pack_id): row for row in rows}
    return [
        {
            "pack_id": pack_id,
            "rewards_issued": int(found[pack_id].rewards_issued) if pack_id in found else 0,
            "points_issued": int(found[pack_id].points_issued) if pack_id in found else 0,
        }
        for pack_id in dict.fromkeys(pack_ids)
    ]

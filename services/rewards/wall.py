"""The public thank-you wall: fans who chose PUBLIC_SHOUTOUT, newest first."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.rewards.models import wall_posts


def wall_page(
    session: Session, *, first: int, after: int | None
) -> tuple[list[dict[str, Any]], bool]:
    query = select(wall_posts.c.id, wall_posts.c.message, wall_posts.c.created_at).order_by(
        wall_posts.c.id.desc()
    )
    if after is not None:
        query = query.where(wall_posts.c.id < after)
    rows = [dict(row) for row in session.execute(query.limit(first + 1)).mappings()]
    return rows[:first], len(rows) > first

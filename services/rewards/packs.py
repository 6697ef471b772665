"""The rewards service's read model of content packs, kept from content's events."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.common.sql import insert_ignoring_conflicts
from services.common.utc_time import utcnow
from services.rewards.models import packs


def upsert_pack(session: Session, payload: dict[str, Any], *, status: str) -> None:
    """Remember a published or updated pack's title and tags (for rule filters)."""
    pack_id = str(payload["pack_id"])
    values = {
        "slug": str(payload.get("slug") or "")[:200],
        "title": str(payload.get("title") or "")[:300],
        "tags": [str(tag).lower() for tag in payload.get("tags") or []],
        "status": status,
        "updated_at": utcnow(),
    }
    exists = session.scalar(select(packs.c.pack_id).where(packs.c.pack_id == pack_id))
    if exists is None:
        session.execute(insert_ignoring_conflicts(session, packs).values(pack_id=pack_id, **values))
    session.execute(update(packs).where(packs.c.pack_id == pack_id).values(**values))


def archive_pack(session: Session, payload: dict[str, Any]) -> None:
    session.execute(
        update(packs)
        .where(packs.c.pack_id == str(payload["pack_id"]))
        .values(status="ARCHIVED", updated_at=utcnow())
    )

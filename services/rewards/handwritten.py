"""The queue of thank-you notes marketers write by hand."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.orm import Session

from services.common.utc_time import utcnow
from services.rewards.errors import AlreadyDone, NotFound
from services.rewards.models import fan_profiles, handwritten_notes


def list_handwritten_notes(session: Session, *, status: str | None) -> list[dict[str, Any]]:
    """Oldest first, with the fan's display name to write to."""
    query = (
        select(handwritten_notes, fan_profiles.c.display_name)
        .outerjoin(fan_profiles, fan_profiles.c.fan_id == handwritten_notes.c.fan_id)
        .order_by(handwritten_notes.c.id)
        .limit(500)
    )
    if status:
        query = query.where(handwritten_notes.c.status == status)
    return [dict(row) for row in session.execute(query).mappings()]


def mark_note_written(session: Session, *, note_id: int, written_by: str | None) -> dict[str, Any]:
    row = (
        session.execute(
            update(handwritten_notes)
            .where(and_(handwritten_notes.c.id == note_id, handwritten_notes.c.status == "PENDING"))
            .values(status="WRITTEN", written_by=written_by, written_at=utcnow())
            .returning(*handwritten_notes.c)
        )
        .mappings()
        .first()
    )
    if row is not None:
        return dict(row)
    status = session.scalar(
        select(handwritten_notes.c.status).where(handwritten_notes.c.id == note_id)
    )
    if status is None:
        raise NotFound(f"No handwritten note has id {note_id}.")
    raise AlreadyDone(f"Note {note_id} is {status} already.")

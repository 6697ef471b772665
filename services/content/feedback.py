"""Fan feedback on packs: one of each sentiment per fan and pack, the latest wins."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select

from services.common.errors import Forbidden, NotFound
from services.common.sql import dialect_insert
from services.common.utc_time import utcnow
from services.content import presenting
from services.content.access import Viewer
from services.content.context import ContentContext
from services.content.models import ContentPack, Feedback
from services.content.sql import bad_cursor, cursor_id, decode_cursor, encode_cursor


def leave_feedback(
    *, context: ContentContext, viewer: Viewer, pack_id: int, sentiment: str, text: str | None
) -> dict[str, Any]:
    """Record the fan's feedback, replacing their earlier one of the same sentiment."""
    fan_id = viewer.require_fan()
    now = utcnow()
    text = (text or "").strip() or None
    with context.db.transaction() as session:
        pack = session.get(ContentPack, pack_id)
        expired = pack is not None and pack.expires_at is not None and pack.expires_at <= now
        if pack is None or pack.status != "PUBLISHED" or expired:
            raise NotFound("No such content pack.", code="PACK_NOT_FOUND")
        if not viewer.tier_reaches(pack.min_tier):
            raise Forbidden("This pack is locked for your tier.", code="PACK_LOCKED")
        table = Feedback.__table__
        statement = dialect_insert(session, table).values(  # type: ignore[arg-type]
            pack_id=pack_id,
            fan_id=fan_id,
            sentiment=sentiment,
            text=text,
            created_at=now,
            updated_at=now,
        )
        session.execute(
            statement.on_conflict_do_update(
                index_elements=["pack_id", "fan_id", "sentiment"],
                set_={"text": statement.excluded.text, "updated_at": statement.excluded.updated_at},
            )
        )
        row = session.scalar(
            select(Feedback).where(
                Feedback.pack_id == pack_id,
                Feedback.fan_id == fan_id,
                Feedback.sentiment == sentiment,
            )
        )
        assert row is not None
        return present_feedback(row)


def present_feedback(row: Feedback) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "pack_id": str(row.pack_id),
        "fan_id": row.fan_id,
        "sentiment": row.sentiment,
        "text": row.text,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def list_feedback(
    *, context: ContentContext, viewer: Viewer, pack_id: int, first: int, after: str | None
) -> dict[str, Any]:
    """A pack's feedback, newest first, with the tally by sentiment (marketers)."""
    viewer.require_manager()
    with context.db.reading() as session:
        if session.get(ContentPack, pack_id) is None:
            raise NotFound(f"No content pack {pack_id}.", code="PACK_NOT_FOUND")
        query = select(Feedback).where(Feedback.pack_id == pack_id)
        total = int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)
        if after:
            moment, last_id = decode_cursor(after, 2)
            try:
                last_moment = datetime.fromisoformat(moment)
            except ValueError as exc:
                raise bad_cursor() from exc
            if last_moment.tzinfo is None:
                # Not one this service wrote (its times carry an offset): which instant?
                raise bad_cursor()
            last = cursor_id(last_id)
            query = query.where(
                or_(
                    Feedback.updated_at < last_moment,
                    and_(Feedback.updated_at == last_moment, Feedback.id < last),
                )
            )
        rows = list(
            session.scalars(
                query.order_by(Feedback.updated_at.desc(), Feedback.id.desc()).limit(first + 1)
            )
        )
        tally = presenting.feedback_tallies(session, [pack_id])[pack_id]
    page = rows[:first]
    return {
        "items": [present_feedback(row) for row in page],
        "page_info": {
            "has_next_page": len(rows) > first,
            "end_cursor": encode_cursor(page[-1].updated_at.isoformat(), page[-1].id)
            if page
            else None,
        },
        "total_count": total,
        "tally": tally,
    }

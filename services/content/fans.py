"""What content knows about fans: their tier (from rewards) and their feedback."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from services.common.errors import Forbidden
from services.common.events import Event
from services.common.sql import dialect_insert
from services.common.utc_time import utc_from_iso, utcnow
from services.content.access import Viewer
from services.content.context import ContentContext
from services.content.feedback import present_feedback
from services.content.models import TIERS, FanTier, Feedback

log = logging.getLogger(__name__)

PRIVILEGED_ROLES = frozenset({"system", "admin"})


def tier_of(session: Session, fan_id: str | None) -> str:
    """The fan's tier; FAN for anyone rewards has not told us about."""
    if fan_id is None:
        return "FAN"
    return session.scalar(select(FanTier.tier).where(FanTier.fan_id == fan_id)) or "FAN"


def with_tier(session: Session, viewer: Viewer) -> Viewer:
    """The viewer with a fan's tier as rewards last reported it (others read as FAN)."""
    if viewer.fan_id is None:
        return viewer
    return replace(viewer, tier=tier_of(session, viewer.fan_id))


def apply_tier_changed(session: Session, event: Event) -> None:
    """rewards.tier_changed: keep the fan's newest tier; a late, older event changes nothing."""
    fan_id = str(event.payload.get("fan_id") or "")
    tier = str(event.payload.get("new_tier") or "")
    if not fan_id or tier not in TIERS:
        log.warning("tier_changed event %s ignored: fan %r, tier %r", event.id, fan_id, tier)
        return
    changed_at = utc_from_iso(event.occurred_at)
    table = FanTier.__table__
    statement = dialect_insert(session, table).values(  # type: ignore[arg-type]
        fan_id=fan_id, tier=tier, changed_at=changed_at
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["fan_id"],
            set_={"tier": statement.excluded.tier, "changed_at": statement.excluded.changed_at},
            where=table.c.changed_at < statement.excluded.changed_at,
        )
    )


def _require_self_or_privileged(viewer: Viewer, fan_id: str) -> None:
    if viewer.role in PRIVILEGED_ROLES or viewer.fan_id == fan_id:
        return
    raise Forbidden("Only the fan themself or the platform may do this.")


def export_fan(*, context: ContentContext, viewer: Viewer, fan_id: str) -> dict[str, Any]:
    """Everything content holds about a fan."""
    _require_self_or_privileged(viewer, fan_id)
    with context.db.reading() as session:
        rows = session.scalars(
            select(Feedback).where(Feedback.fan_id == fan_id).order_by(Feedback.id)
        )
        return {
            "fan_id": fan_id,
            "tier": tier_of(session, fan_id),
            "feedback": [present_feedback(row) for row in rows],
        }


def erase_fan(*, context: ContentContext, viewer: Viewer, fan_id: str) -> dict[str, Any]:
    """Forget the fan: feedback loses its author and text but still counts in the tally."""
    _require_self_or_privileged(viewer, fan_id)
    with context.db.transaction() as session:
        anonymised = session.execute(
            update(Feedback)
            .where(Feedback.fan_id == fan_id)
            .values(fan_id=None, text=None, updated_at=utcnow())
            .returning(Feedback.id)
        ).all()
        session.execute(delete(FanTier).where(FanTier.fan_id == fan_id))
    return {"fan_id": fan_id, "feedback_anonymised": len(anonymised)}

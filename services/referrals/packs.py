"""The read model of content packs, kept from the content service's events.

Events may arrive late or twice: each row remembers the time of the newest event
applied, and an older one changes nothing. An archive that overtakes the
publication leaves a tombstone, so the late publication cannot revive the pack.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common.events import Event
from services.common.sql import dialect_insert
from services.common.utc_time import utc_from_iso
from services.referrals.errors import PackNotFound, PackNotPublished
from services.referrals.models import packs

PUBLISHED = "PUBLISHED"
ARCHIVED = "ARCHIVED"


@dataclass(frozen=True)
class PackView:
    """What the redirect, the preview page and link creation need to know about a pack."""

    pack_id: str
    slug: str
    title: str
    summary: str
    destination_url: str
    cover_url: str | None
    expires_at: datetime | None
    status: str

    def is_live(self, now: datetime) -> bool:
        """Published and not past its expiry: its links still redirect."""
        if self.status != PUBLISHED:
            return False
        return self.expires_at is None or now < self.expires_at

    def to_cache(self) -> dict[str, Any]:
        return {
            "pack_id": self.pack_id,
            "slug": self.slug,
            "title": self.title,
            "summary": self.summary,
            "destination_url": self.destination_url,
            "cover_url": self.cover_url,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "status": self.status,
        }

    @classmethod
    def from_cache(cls, data: dict[str, Any]) -> PackView:
        expires = data.get("expires_at")
        return cls(
            pack_id=data["pack_id"],
            slug=data["slug"],
            title=data["title"],
            summary=data["summary"],
            destination_url=data["destination_url"],
            cover_url=data.get("cover_url"),
            expires_at=utc_from_iso(expires) if expires else None,
            status=data["status"],
        )

    @classmethod
    def from_row(cls, row: Any) -> PackView:
        return cls(
            pack_id=row.pack_id,
            slug=row.slug,
            title=row.title,
            summary=row.summary,
            destination_url=row.destination_url,
            cover_url=row.cover_url,
            expires_at=row.expires_at,
            status=row.status,
        )


def _parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    return utc_from_iso(str(value))


def apply_pack_event(session: Session, event: Event) -> str:
    """Bring the pack row up to ``event``; returns the pack id."""
    payload = event.payload
    pack_id = str(payload["pack_id"])
    event_at = utc_from_iso(event.occurred_at)
    if event.type == "content.pack_archived":
        values: dict[str, Any] = {
            "pack_id": pack_id,
            "slug": str(payload.get("slug") or ""),
            "title": "",
            "summary": "",
            "destination_url": "",
            "status": ARCHIVED,
            "event_at": event_at,
        }
        update_columns: tuple[str, ...] = ("status", "event_at")
    else:
        values = {
            "pack_id": pack_id,
            "slug": str(payload["slug"]),
            "title": str(payload.get("title") or ""),
            "summary": str(payload.get("summary") or ""),
            "destination_url": str(payload["destination_url"]),
            "cover_url": payload.get("cover_url"),
            "expires_at": _parse_time(payload.get("expires_at")),
            "status": PUBLISHED,
            "event_at": event_at,
        }
        update_columns = tuple(name for name in values if name != "pack_id")
    statement = dialect_insert(session, packs).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=[packs.c.pack_id],
        set_={name: statement.excluded[name] for name in update_columns},
        where=packs.c.event_at < statement.excluded.event_at,
    )
    session.execute(statement)
    return pack_id


def get_pack(session: Session, pack_id: str) -> PackView | None:
    row = session.execute(select(packs).where(packs.c.pack_id == pack_id)).first()
    return PackView.from_row(row) if row else None


def require_live_pack(session: Session, pack_id: str, now: datetime) -> PackView:
    """The pack, if fans may link to it now; PACK_NOT_FOUND or PACK_NOT_PUBLISHED otherwise."""
    pack = get_pack(session, pack_id)
    if pack is None:
        raise PackNotFound(f"No published pack has the id {pack_id!r}.")
    if not pack.is_live(now):
        raise PackNotPublished(
            f"The pack {pack_id!r} is archived or expired; links can only be made to live packs."
        )
    return pack

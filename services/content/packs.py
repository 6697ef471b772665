"""Content packs: create, update, publish, archive, and read them as each caller may."""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import delete, exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common.errors import Conflict, InvalidInput, NotFound
from services.common.utc_time import utcnow
from services.content import fans, presenting, rules
from services.content.access import Viewer
from services.content.context import ContentContext
from services.content.models import Asset, ContentPack, PackTag
from services.content.pack_rows import (
    LIKE_ESCAPE,
    TOTAL_COLUMN,
    PackQuery,
    pack_by_id,
    pack_rows,
    page_total,
    read_packs,
)
from services.content.sql import cursor_id, decode_cursor, dialect_of, encode_cursor

MAX_PAGE_SIZE = 100
MAX_BATCH_IDS = 200


@dataclass(frozen=True)
class PackFilter:
    status: str | None = None
    purpose: str | None = None
    tag: str | None = None
    search: str | None = None


def _policy(context: ContentContext) -> rules.DestinationPolicy:
    settings = context.settings
    refused = [host for host in (settings.short_link_host.strip().lower(),) if host]
    public_host = presenting.host_of(settings.content_public_url)
    if public_host:
        refused.append(public_host)
    return rules.DestinationPolicy(
        allowed_hosts=settings.allowed_destination_hosts, refused_hosts=tuple(refused)
    )


def _checked_expiry(expires_at: datetime | None) -> datetime | None:
    """The expiry, refused unless in the future and storable.

    Storable means within years 1-9999 once in UTC, as every time is stored
    (services.common.utc_time): 9999-12-31T23:00-05:00 is past the last day.
    """
    if expires_at is None:
        return None
    try:
        in_utc = expires_at.astimezone(UTC)
    except OverflowError as exc:
        if expires_at.year == datetime.min.year:
            raise _expiry_in_past() from exc
        raise rules.RuleViolation(
            "The expiry must be on or before 9999-12-31T23:59:59Z.",
            code="EXPIRY_TOO_LATE",
            field="expires_at",
        ) from exc
    if in_utc <= utcnow():
        raise _expiry_in_past()
    return in_utc


def _expiry_in_past() -> rules.RuleViolation:
    return rules.RuleViolation(
        "The expiry must be in the future.", code="EXPIRY_IN_PAST", field="expires_at"
    )


def slugify(title: str) -> str:
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:80].strip("-")
    return slug or "pack"


def create_pack(*, context: ContentContext, viewer: Viewer, data: dict[str, Any]) -> dict[str, Any]:
    """Create a DRAFT pack from validated fields; the rules run before anything is written."""
    viewer.require_manager()
    hashtags = rules.normalise_hashtags(data.get("hashtags") or [])
    tags = rules.normalise_tags(data.get("tags") or [])
    sharing_rewarded = bool(data.get("sharing_rewarded", True))
    disclosure = data.get("disclosure") or context.settings.default_disclosure
    captions = rules.check_captions(
        data.get("captions") or [], hashtags, disclosure if sharing_rewarded else None
    )
    destination = rules.check_destination_url(data["destination_url"], _policy(context))
    expires_at = _checked_expiry(data.get("expires_at"))
    now = utcnow()
    with context.db.transaction() as session:
        pack = ContentPack(
            title=data["title"].strip(),
            summary=data["summary"].strip(),
            story=data["story"],
            purpose=data["purpose"],
            status="DRAFT",
            min_tier=data.get("min_tier") or "FAN",
            destination_url=destination,
            captions=captions,
            hashtags=hashtags,
            sharing_rewarded=sharing_rewarded,
            disclosure=disclosure,
            created_by=viewer.user_id,
            expires_at=expires_at,
            created_at=now,
            updated_at=now,
        )
        _insert_with_unique_slug(session, pack)
        session.add_all(PackTag(pack_id=pack.id, tag=tag) for tag in tags)
        return _present_one(session, context, viewer, pack.id)


def _insert_with_unique_slug(session: Session, pack: ContentPack) -> None:
    """Insert under the title's slug, or the slug with a random suffix if it is taken."""
    base = slugify(pack.title)
    candidates = [base] + [f"{base[:72]}-{secrets.token_hex(3)}" for _ in range(5)]
    for candidate in candidates:
        pack.slug = candidate
        try:
            with session.begin_nested():
                session.add(pack)
                session.flush()
        except IntegrityError:
            session.expunge(pack) if pack in session else None
            continue
        return
    raise Conflict("Could not find a free slug for this title.", code="SLUG_TAKEN")


def update_pack(
    *, context: ContentContext, viewer: Viewer, pack_id: int, data: dict[str, Any]
) -> dict[str, Any]:
    """Change a draft or published pack; a published one announces content.pack_updated."""
    viewer.require_manager()
    with context.db.transaction() as session:
        pack = _locked_pack(session, pack_id)
        if pack.status == "ARCHIVED":
            raise Conflict("An archived pack cannot change.", code="PACK_ARCHIVED")
        hashtags = (
            rules.normalise_hashtags(data["hashtags"]) if "hashtags" in data else pack.hashtags
        )
        sharing_rewarded = data.get("sharing_rewarded", pack.sharing_rewarded)
        disclosure = data.get("disclosure") or pack.disclosure
        captions = data.get("captions", pack.captions)
        pack.captions = rules.check_captions(
            captions or [], hashtags, disclosure if sharing_rewarded else None
        )
        pack.hashtags = hashtags
        pack.sharing_rewarded = sharing_rewarded
        pack.disclosure = disclosure
        if "destination_url" in data:
            pack.destination_url = rules.check_destination_url(
                data["destination_url"], _policy(context)
            )
        if "expires_at" in data:
            pack.expires_at = _checked_expiry(data["expires_at"])
        for field in ("title", "summary"):
            if field in data:
                setattr(pack, field, data[field].strip())
        for field in ("story", "purpose", "min_tier"):
            if field in data:
                setattr(pack, field, data[field])
        if "tags" in data:
            tags = rules.normalise_tags(data["tags"])
            session.execute(delete(PackTag).where(PackTag.pack_id == pack.id))
            session.add_all(PackTag(pack_id=pack.id, tag=tag) for tag in tags)
        pack.updated_at = utcnow()
        session.flush()
        if pack.status == "PUBLISHED":
            context.outbox.add(
                session, "content.pack_updated", _event_payload(session, context, pack)
            )
        return _present_one(session, context, viewer, pack.id)


def publish_pack(*, context: ContentContext, viewer: Viewer, pack_id: int) -> dict[str, Any]:
    """DRAFT -> PUBLISHED, only with a READY asset; announces content.pack_published."""
    viewer.require_manager()
    now = utcnow()
    with context.db.transaction() as session:
        pack = _locked_pack(session, pack_id)
        if pack.expires_at is not None and pack.expires_at <= now:
            raise Conflict("The pack has expired; move its expiry first.", code="PACK_EXPIRED")
        has_ready_asset = exists().where(Asset.pack_id == pack_id, Asset.status == "READY")
        published = session.execute(
            update(ContentPack)
            .where(ContentPack.id == pack_id, ContentPack.status == "DRAFT", has_ready_asset)
            .values(status="PUBLISHED", published_at=now, updated_at=now)
            .returning(ContentPack.id)
        ).first()
        if published is None:
            if pack.status != "DRAFT":
                raise _bad_transition(pack.status, "PUBLISHED")
            raise Conflict(
                "Publishing needs at least one READY image; upload one and wait for it.",
                code="NO_READY_ASSET",
            )
        session.refresh(pack)
        context.outbox.add(
            session, "content.pack_published", _event_payload(session, context, pack)
        )
        return _present_one(session, context, viewer, pack.id)


def archive_pack(*, context: ContentContext, viewer: Viewer, pack_id: int) -> dict[str, Any]:
    """PUBLISHED -> ARCHIVED; announces content.pack_archived."""
    viewer.require_manager()
    now = utcnow()
    with context.db.transaction() as session:
        pack = _locked_pack(session, pack_id)
        archived = session.execute(
            update(ContentPack)
            .where(ContentPack.id == pack_id, ContentPack.status == "PUBLISHED")
            .values(status="ARCHIVED", archived_at=now, updated_at=now)
            .returning(ContentPack.id)
        ).first()
        if archived is None:
            raise _bad_transition(pack.status, "ARCHIVED")
        session.refresh(pack)
        context.outbox.add(
            session, "content.pack_archived", {"pack_id": str(pack.id), "slug": pack.slug}
        )
        return _present_one(session, context, viewer, pack.id)


def _present_one(
    session: Session, context: ContentContext, viewer: Viewer, pack_id: int
) -> dict[str, Any]:
    """A pack just written, read back as reads show it (in the same transaction)."""
    session.flush()
    return presenting.present_packs(session, context, viewer, [pack_by_id(session, pack_id)])[0]


def _bad_transition(current: str, wanted: str) -> Conflict:
    return Conflict(
        f"A {current} pack cannot become {wanted}; packs go DRAFT -> PUBLISHED -> ARCHIVED.",
        code="INVALID_STATUS_TRANSITION",
        details={"status": current},
    )


def _locked_pack(session: Session, pack_id: int) -> ContentPack:
    # FOR UPDATE on PostgreSQL serialises writers of one pack; SQLite's
    # BEGIN IMMEDIATE already holds the write lock.
    pack = session.scalar(select(ContentPack).where(ContentPack.id == pack_id).with_for_update())
    if pack is None:
        raise NotFound(f"No content pack {pack_id}.", code="PACK_NOT_FOUND")
    return pack


def _event_payload(session: Session, context: ContentContext, pack: ContentPack) -> dict[str, Any]:
    """The payload docs/events.md fixes for content.pack_published and pack_updated."""
    tags = presenting.tags_by_pack(session, [pack.id]).get(pack.id, [])
    has_cover = presenting.cover_assets(session, [pack.id]).get(pack.id) is not None
    return {
        "pack_id": str(pack.id),
        "slug": pack.slug,
        "title": pack.title,
        "summary": pack.summary,
        "purpose": pack.purpose,
        "destination_url": pack.destination_url,
        "min_tier": pack.min_tier,
        "tags": tags,
        "expires_at": pack.expires_at.isoformat() if pack.expires_at else None,
        "cover_url": context.cover_url(pack.id) if has_cover else None,
        "rewarded": pack.sharing_rewarded,
    }


def _like_term(search: str) -> str:
    """The search text as a LIKE operand: lower case, its wildcards and escape escaped."""
    escape = LIKE_ESCAPE
    term = search.strip().lower().replace(escape, escape * 2)
    return term.replace("%", f"{escape}%").replace("_", f"{escape}_")


def _filtered(query: PackQuery, params: dict[str, Any], pack_filter: PackFilter) -> PackQuery:
    """``query`` with the list filters that are set, their values put in ``params``."""
    search = (pack_filter.search or "").strip()
    values = {
        "status": pack_filter.status or None,
        "purpose": pack_filter.purpose or None,
        "tag": pack_filter.tag.strip().lower() if pack_filter.tag else None,
        "term": _like_term(search) if search else None,
    }
    params.update((name, value) for name, value in values.items() if value is not None)
    return query._replace(
        status=values["status"] is not None,
        purpose=values["purpose"] is not None,
        tag=values["tag"] is not None,
        search=values["term"] is not None,
    )


def _read_query(
    session: Session, viewer: Viewer, by: Literal["id", "slug", "ids", "page"]
) -> tuple[PackQuery, dict[str, Any]]:
    """A read's shape and first parameters; fans, partners and anonymous callers see
    published, unexpired packs only."""
    query = PackQuery(dialect=dialect_of(session), by=by, visible_only=not viewer.manages_content)
    return query, {"now": utcnow()}


def get_pack(
    *, context: ContentContext, viewer: Viewer, pack_id: int | None = None, slug: str | None = None
) -> dict[str, Any]:
    """One pack by id or slug, as the viewer (a fan at their tier) may see it; 404 if not."""
    viewer.require_reader()
    with context.db.reading() as session:
        viewer = fans.with_tier(session, viewer)
        if pack_id is not None:
            query, params = _read_query(session, viewer, "id")
            params["pack_id"] = pack_id
        else:
            query, params = _read_query(session, viewer, "slug")
            params["slug"] = slug
        rows = pack_rows(session, read_packs(session, query, params))
        if not rows:
            raise NotFound("No such content pack.", code="PACK_NOT_FOUND")
        return presenting.present_packs(session, context, viewer, rows)[0]


def get_packs_by_ids(
    *, context: ContentContext, viewer: Viewer, ids: Sequence[int], with_assets: bool = True
) -> list[dict[str, Any]]:
    """The packs among ``ids`` the viewer (a fan at their tier) may see, in any order."""
    viewer.require_reader()
    if len(ids) > MAX_BATCH_IDS:
        raise InvalidInput(
            f"Ask for at most {MAX_BATCH_IDS} ids at once.",
            code="TOO_MANY_IDS",
            details={"field": "ids"},
        )
    if not ids:
        return []
    with context.db.reading() as session:
        viewer = fans.with_tier(session, viewer)
        query, params = _read_query(session, viewer, "ids")
        params["ids"] = sorted(set(ids))
        rows = pack_rows(session, read_packs(session, query, params))
        return presenting.present_packs(session, context, viewer, rows, with_assets=with_assets)


def list_packs(
    *,
    context: ContentContext,
    viewer: Viewer,
    pack_filter: PackFilter,
    first: int = 20,
    after: str | None = None,
    with_assets: bool = True,
) -> dict[str, Any]:
    """A page of packs as the viewer (a fan at their tier) sees them, newest first, with
    the total for the same filter."""
    viewer.require_reader()
    last_id: int | None = None
    if after:
        (last,) = decode_cursor(after, 1)
        last_id = cursor_id(last)
    with context.db.reading() as session:
        viewer = fans.with_tier(session, viewer)
        query, params = _read_query(session, viewer, "page")
        query = _filtered(query, params, pack_filter)
        params["limit"] = first + 1
        if last_id is not None:
            query = query._replace(after=True)
            params["last_id"] = last_id
        rows = read_packs(session, query, params)
        if rows:
            total_count = int(rows[0][TOTAL_COLUMN])
        else:
            # No row carried the total: none at all, or past the last page.
            total_count = page_total(session, query, params) if last_id is not None else 0
        packs = pack_rows(session, rows[:first])
        items = presenting.present_packs(session, context, viewer, packs, with_assets=with_assets)
    return {
        "items": items,
        "page_info": {
            "has_next_page": len(rows) > first,
            "end_cursor": encode_cursor(packs[-1].id) if packs else None,
        },
        "total_count": total_count,
    }

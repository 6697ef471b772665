"""Referral links: one per (fan, pack, channel), made idempotently, never with a fan's URL."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.orm import Session

from services.common.sql import dialect_insert
from services.referrals.codes import new_link_code
from services.referrals.destinations import destination_with_utm
from services.referrals.errors import InvalidReference
from services.referrals.models import packs, referral_links
from services.referrals.packs import require_live_pack

# Eight base62 characters make a collision about one in 10^8 per attempt at a
# million links: five attempts that all collide mean something else is wrong.
_CODE_ATTEMPTS = 5


@dataclass(frozen=True)
class ReferralLinkRecord:
    id: int
    code: str
    fan_id: str | None
    pack_id: str
    channel: str
    destination_url: str | None
    created_at: datetime


def _link_query() -> Any:
    return select(
        referral_links.c.id,
        referral_links.c.code,
        referral_links.c.fan_id,
        referral_links.c.pack_id,
        referral_links.c.channel,
        referral_links.c.created_at,
        packs.c.destination_url,
        packs.c.slug,
    ).select_from(referral_links.outerjoin(packs, packs.c.pack_id == referral_links.c.pack_id))


def _record(row: Any) -> ReferralLinkRecord:
    destination = (
        destination_with_utm(row.destination_url, row.channel, row.slug)
        if row.destination_url
        else None
    )
    return ReferralLinkRecord(
        id=row.id,
        code=row.code,
        fan_id=row.fan_id,
        pack_id=row.pack_id,
        channel=row.channel,
        destination_url=destination,
        created_at=row.created_at,
    )


def create_link(
    session: Session, *, fan_id: str, fan_ref: str, pack_id: str, channel: str, now: datetime
) -> tuple[ReferralLinkRecord, bool]:
    """The fan's link for (pack, channel): the existing one, or a new one; True if new."""
    require_live_pack(session, pack_id, now)
    mine = and_(
        referral_links.c.fan_id == fan_id,
        referral_links.c.pack_id == pack_id,
        referral_links.c.channel == channel,
    )
    for _ in range(_CODE_ATTEMPTS):
        existing = session.execute(_link_query().where(mine)).first()
        if existing is not None:
            session.execute(
                update(referral_links)
                .where(referral_links.c.id == existing.id, referral_links.c.fan_ref != fan_ref)
                .values(fan_ref=fan_ref)
            )
            return _record(existing), False
        # Either unique key may be taken by now: a concurrent request for the same
        # (fan, pack, channel), found on the next pass, or the code, retried with a new one.
        inserted = session.execute(
            dialect_insert(session, referral_links)
            .values(
                code=new_link_code(),
                fan_id=fan_id,
                fan_ref=fan_ref,
                pack_id=pack_id,
                channel=channel,
                created_at=now,
            )
            .on_conflict_do_nothing()
            .returning(referral_links.c.id)
        ).first()
        if inserted is not None:
            row = session.execute(_link_query().where(referral_links.c.id == inserted.id)).one()
            return _record(row), True
    raise RuntimeError(f"no free link code after {_CODE_ATTEMPTS} attempts")


def links_by_ids(session: Session, ids: list[int]) -> list[ReferralLinkRecord]:
    rows = session.execute(_link_query().where(referral_links.c.id.in_(ids))).all()
    return [_record(row) for row in rows]


def links_by_codes(session: Session, codes: list[str]) -> list[ReferralLinkRecord]:
    rows = session.execute(_link_query().where(referral_links.c.code.in_(codes))).all()
    return [_record(row) for row in rows]


def fan_links_for_packs(
    session: Session, *, fan_id: str, pack_ids: list[str]
) -> list[ReferralLinkRecord]:
    rows = session.execute(
        _link_query()
        .where(referral_links.c.fan_id == fan_id, referral_links.c.pack_id.in_(pack_ids))
        .order_by(referral_links.c.id)
    ).all()
    return [_record(row) for row in rows]


@dataclass(frozen=True)
class LinkPage:
    items: list[ReferralLinkRecord]
    has_next_page: bool
    end_cursor: str | None
    total_count: int


def encode_cursor(link_id: int) -> str:
    return base64.urlsafe_b64encode(f"link:{link_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, value = text.partition(":")
        if prefix != "link":
            raise ValueError(prefix)
        return int(value)
    except ValueError as exc:
        raise InvalidReference(
            "The cursor is not one this service gave out; pass end_cursor back unchanged.",
            details={"fields": {"after": ["Not a valid cursor."]}},
        ) from exc


def fan_links_page(session: Session, *, fan_id: str, first: int, after: str | None) -> LinkPage:
    """The fan's links, newest first, a page at a time."""
    query = _link_query().where(referral_links.c.fan_id == fan_id)
    if after:
        query = query.where(referral_links.c.id < decode_cursor(after))
    rows = session.execute(query.order_by(referral_links.c.id.desc()).limit(first + 1)).all()
    total = session.scalar(
        select(func.count()).select_from(referral_links).where(referral_links.c.fan_id == fan_id)
    )
    items = [_record(row) for row in rows[:first]]
    return LinkPage(
        items=items,
        has_next_page=len(rows) > first,
        end_cursor=encode_cursor(items[-1].id) if items else None,
        total_count=int(total or 0),
    )

"""What ``GET /r/<code>`` answers, decided without Flask, the database or another service."""

from __future__ import annotations

import enum
import time
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import NamedTuple

from services.referrals.classify import VisitorKind, classify_user_agent
from services.referrals.clicks import Click
from services.referrals.codes import is_valid_code, new_click_id
from services.referrals.destinations import destination_with_utm, with_click_id
from services.referrals.directory import LinkDirectory, LinkTarget
from services.referrals.packs import PackView
from services.referrals.privacy import VisitorHasher

_SECONDS_PER_DAY = 86_400
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


class Outcome(enum.Enum):
    REDIRECT = "redirect"
    PREVIEW = "preview"
    NOT_FOUND = "not_found"
    GONE = "gone"


class RedirectDecision(NamedTuple):
    """What to answer (a NamedTuple: built on every request, and cheaper than a dataclass)."""

    outcome: Outcome
    link: LinkTarget | None = None
    pack: PackView | None = None
    location: str | None = None
    click: Click | None = None


def decide_redirect(
    directory: LinkDirectory,
    hasher: VisitorHasher,
    *,
    code: str,
    counted: bool,
    user_agent: str,
    client_ip: str,
    now: float | None = None,
) -> RedirectDecision:
    """Resolve ``code`` and classify the visitor; the click is returned, not stored.

    ``counted`` is False for HEAD requests: they are answered but never counted.
    """
    if not is_valid_code(code):
        return RedirectDecision(Outcome.NOT_FOUND)
    link = directory.link(code)
    if link is None:
        return RedirectDecision(Outcome.NOT_FOUND)
    pack = directory.pack(link.pack_id)
    timestamp = time.time() if now is None else now
    if pack is None or not _is_live(pack, timestamp):
        return RedirectDecision(Outcome.GONE, link=link, pack=pack)

    kind = classify_user_agent(user_agent)
    destination = destination_with_utm(pack.destination_url, link.channel, pack.slug)
    if kind is VisitorKind.PREVIEW:
        outcome, location = Outcome.PREVIEW, destination
    else:
        outcome, location = Outcome.REDIRECT, destination
    if not counted:
        return RedirectDecision(outcome, link=link, pack=pack, location=location)

    click_id = new_click_id()
    if kind is VisitorKind.PREVIEW:
        visitor_hash = ip_hash = None
    else:
        day = _utc_day(int(timestamp // _SECONDS_PER_DAY))
        visitor_hash = hasher.visitor_hash(client_ip, user_agent, day)
        ip_hash = hasher.ip_hash(client_ip, day)
        location = with_click_id(destination, click_id)
    click = Click(
        click_id=click_id,
        link_id=link.link_id,
        pack_id=link.pack_id,
        kind=kind,
        visitor_hash=visitor_hash,
        ip_hash=ip_hash,
        occurred_at=timestamp,
    )
    return RedirectDecision(outcome, link=link, pack=pack, location=location, click=click)


def _is_live(pack: PackView, timestamp: float) -> bool:
    # Most packs never expire: no datetime is made for them on every request.
    if pack.expires_at is None:
        return pack.is_live(_EPOCH)
    return pack.is_live(datetime.fromtimestamp(timestamp, UTC))


_EPOCH = datetime.fromtimestamp(0, UTC)


@lru_cache(maxsize=4)
def _utc_day(days_since_epoch: int) -> date:
    """The UTC date ``days_since_epoch`` days after 1970-01-01 (one per day, cached)."""
    return date.fromordinal(_EPOCH_ORDINAL + days_since_epoch)

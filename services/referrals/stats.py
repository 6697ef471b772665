"""Numbers for the gateway, in batch: per link, per fan, per pack, and per day.

Click counts come from the daily roll-ups (kept after raw clicks are deleted);
conversions and revenue count APPROVED conversions only (a reversal takes
them back out).
"""

from __future__ import annotations

import enum
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from services.referrals.conversions import ConversionStatus
from services.referrals.models import click_daily, conversions, referral_links, shares


class Scope(enum.StrEnum):
    LINK = "link"
    FAN = "fan"
    PACK = "pack"


@dataclass
class Tally:
    key: str
    shares: int = 0
    human_clicks: int = 0
    unique_visitors: int = 0
    preview_fetches: int = 0
    bot_clicks: int = 0
    conversions: int = 0
    revenue: dict[str, int] = field(default_factory=dict)


@dataclass
class DayTally(Tally):
    day: date = date.min


def _columns(scope: Scope) -> tuple[Any, Any, Any | None, Any]:
    """The grouping column in click_daily (and its FROM), conversions and shares."""
    if scope is Scope.LINK:
        return click_daily.c.link_id, click_daily, None, conversions.c.link_id
    if scope is Scope.PACK:
        return click_daily.c.pack_id, click_daily, shares.c.pack_id, conversions.c.pack_id
    joined = click_daily.join(referral_links, referral_links.c.id == click_daily.c.link_id)
    return referral_links.c.fan_id, joined, shares.c.fan_id, conversions.c.fan_id


def _key_filter(column: Any, scope: Scope, keys: list[str]) -> ColumnElement[bool]:
    if scope is Scope.LINK:
        return column.in_([int(key) for key in keys])  # type: ignore[no-any-return]
    return column.in_(keys)  # type: ignore[no-any-return]


def tallies(
    session: Session, scope: Scope, keys: list[str], *, since: date | None = None
) -> list[Tally]:
    """One tally per key that exists; keys with no activity get zeros."""
    found: dict[str, Tally] = {key: Tally(key=key) for key in keys}
    click_key, click_from, share_key, conversion_key = _columns(scope)
    query = (
        select(
            click_key,
            func.sum(click_daily.c.human_clicks),
            func.sum(click_daily.c.unique_visitors),
            func.sum(click_daily.c.preview_fetches),
            func.sum(click_daily.c.bot_clicks),
        )
        .select_from(click_from)
        .where(_key_filter(click_key, scope, keys))
        .group_by(click_key)
    )
    if since is not None:
        query = query.where(click_daily.c.day >= since)
    for key, human, unique, preview, bot in session.execute(query):
        tally = found[str(key)]
        tally.human_clicks, tally.unique_visitors = int(human or 0), int(unique or 0)
        tally.preview_fetches, tally.bot_clicks = int(preview or 0), int(bot or 0)

    conversion_query = (
        select(
            conversion_key,
            conversions.c.currency,
            func.count(),
            func.sum(conversions.c.amount_cents),
        )
        .where(
            _key_filter(conversion_key, scope, keys),
            conversions.c.status == ConversionStatus.APPROVED.value,
        )
        .group_by(conversion_key, conversions.c.currency)
    )
    if since is not None:
        conversion_query = conversion_query.where(conversions.c.occurred_at >= _start_of(since))
    for key, currency, count, amount in session.execute(conversion_query):
        tally = found[str(key)]
        tally.conversions += int(count)
        if currency and amount:
            tally.revenue[currency] = tally.revenue.get(currency, 0) + int(amount)

    if share_key is not None:
        share_query = (
            select(share_key, func.count())
            .where(_key_filter(share_key, scope, keys))
            .group_by(share_key)
        )
        if since is not None:
            share_query = share_query.where(shares.c.created_at >= _start_of(since))
        for key, count in session.execute(share_query):
            found[str(key)].shares = int(count)
    return list(found.values())


def daily_series(
    session: Session, scope: Scope, key: str, *, start: date, end: date
) -> list[DayTally]:
    """One row per day from ``start`` to ``end`` inclusive, zeros where nothing happened."""
    days: dict[date, DayTally] = {}
    current = start
    while current <= end:
        days[current] = DayTally(key=key, day=current)
        current = date.fromordinal(current.toordinal() + 1)
    click_key, click_from, _share_key, conversion_key = _columns(scope)
    rows = session.execute(
        select(
            click_daily.c.day,
            func.sum(click_daily.c.human_clicks),
            func.sum(click_daily.c.unique_visitors),
            func.sum(click_daily.c.preview_fetches),
            func.sum(click_daily.c.bot_clicks),
        )
        .select_from(click_from)
        .where(
            _key_filter(click_key, scope, [key]),
            click_daily.c.day >= start,
            click_daily.c.day <= end,
        )
        .group_by(click_daily.c.day)
    )
    for day, human, unique, preview, bot in rows:
        tally = days[day if isinstance(day, date) else date.fromisoformat(str(day))]
        tally.human_clicks, tally.unique_visitors = int(human or 0), int(unique or 0)
        tally.preview_fetches, tally.bot_clicks = int(preview or 0), int(bot or 0)
    approved = session.execute(
        select(conversions.c.occurred_at, conversions.c.currency, conversions.c.amount_cents).where(
            _key_filter(conversion_key, scope, [key]),
            conversions.c.status == ConversionStatus.APPROVED.value,
            conversions.c.occurred_at >= _start_of(start),
            conversions.c.occurred_at < _start_of(date.fromordinal(end.toordinal() + 1)),
        )
    )
    for occurred_at, currency, amount in approved:
        tally = days[occurred_at.date()]
        tally.conversions += 1
        if currency and amount:
            tally.revenue[currency] = tally.revenue.get(currency, 0) + int(amount)
    return list(days.values())


def top_fans(session: Session, *, since: date | None, first: int) -> list[Tally]:
    """Fans with the most approved conversions, then human clicks: the leaderboard's input."""
    human: dict[str, int] = defaultdict(int)
    query = (
        select(referral_links.c.fan_id, func.sum(click_daily.c.human_clicks))
        .select_from(click_daily.join(referral_links, referral_links.c.id == click_daily.c.link_id))
        .where(referral_links.c.fan_id.is_not(None))
        .group_by(referral_links.c.fan_id)
    )
    if since is not None:
        query = query.where(click_daily.c.day >= since)
    for fan_id, count in session.execute(query):
        human[fan_id] = int(count or 0)
    conversion_query = (
        select(conversions.c.fan_id, func.count())
        .where(
            conversions.c.fan_id.is_not(None),
            conversions.c.status == ConversionStatus.APPROVED.value,
        )
        .group_by(conversions.c.fan_id)
    )
    if since is not None:
        conversion_query = conversion_query.where(conversions.c.occurred_at >= _start_of(since))
    converted = {fan_id: int(count) for fan_id, count in session.execute(conversion_query)}
    ranked = sorted(
        set(human) | set(converted),
        key=lambda fan: (-converted.get(fan, 0), -human.get(fan, 0), fan),
    )[:first]
    return tallies(session, Scope.FAN, ranked, since=since) if ranked else []


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)

"""Clicks into the database: raw rows, daily roll-ups, link counters and milestone events.

One batch is one transaction. Click ids are unique, so a batch delivered again
(a drain that died before acknowledging its stream entries) inserts nothing
twice, and only the rows actually inserted move the counters.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from services.common.outbox import Outbox, as_utc
from services.referrals.classify import VisitorKind
from services.referrals.clicks import Click
from services.referrals.models import click_daily, clicks, referral_links
from services.referrals.sql import upsert

# The same visitor clicking the same link again within this long is one unique visitor.
UNIQUE_VISIT_WINDOW = timedelta(minutes=30)
# Lookups of earlier visits go in chunks that stay under SQLite's parameter limit.
_LOOKUP_CHUNK = 900


def milestones_crossed(before: int, after: int) -> list[int]:
    """The milestones 1, 10, 100, ... reached going from ``before`` to ``after`` clicks."""
    reached = []
    milestone = 1
    while milestone <= after:
        if milestone > before:
            reached.append(milestone)
        milestone *= 10
    return reached


@dataclass
class IngestResult:
    inserted: int = 0
    duplicates: int = 0
    milestones: list[tuple[int, int]] = field(default_factory=list)  # (link_id, milestone)


@dataclass
class _DailyTally:
    human_clicks: int = 0
    unique_visitors: int = 0
    preview_fetches: int = 0
    bot_clicks: int = 0


def ingest_clicks(
    session: Session, batch: Sequence[Click], *, outbox: Outbox | None
) -> IngestResult:
    """Store ``batch`` and everything derived from it, in the caller's transaction."""
    result = IngestResult()
    unique_batch = list({click.click_id: click for click in batch}.values())
    if not unique_batch:
        return result
    unique_batch.sort(key=lambda click: click.occurred_at)
    unique_visits = _mark_unique_visits(session, unique_batch)

    rows = [
        {
            "click_id": click.click_id,
            "link_id": click.link_id,
            "pack_id": click.pack_id,
            "kind": click.kind.value,
            "visitor_hash": click.visitor_hash,
            "ip_hash": click.ip_hash,
            "unique_visit": click.click_id in unique_visits,
            "occurred_at": click.moment,
        }
        for click in unique_batch
    ]
    statement = (
        upsert(session, clicks)
        .on_conflict_do_nothing(index_elements=[clicks.c.click_id])
        .returning(clicks.c.click_id)
    )
    inserted_ids = set(session.scalars(statement, rows).all())
    result.inserted = len(inserted_ids)
    result.duplicates = len(unique_batch) - result.inserted
    if not inserted_ids:
        return result

    daily: dict[tuple[int, date, str], _DailyTally] = defaultdict(_DailyTally)
    human_per_link: dict[int, int] = defaultdict(int)
    for click in unique_batch:
        if click.click_id not in inserted_ids:
            continue
        tally = daily[(click.link_id, click.moment.date(), click.pack_id)]
        if click.kind is VisitorKind.HUMAN:
            tally.human_clicks += 1
            human_per_link[click.link_id] += 1
            if click.click_id in unique_visits:
                tally.unique_visitors += 1
        elif click.kind is VisitorKind.PREVIEW:
            tally.preview_fetches += 1
        else:
            tally.bot_clicks += 1
    _add_to_rollups(session, daily)
    result.milestones = _count_human_clicks(session, human_per_link, outbox=outbox)
    return result


def _mark_unique_visits(session: Session, batch: list[Click]) -> set[str]:
    """Click ids of human clicks that start a visit (no click by the same visitor just before)."""
    humans = [c for c in batch if c.kind is VisitorKind.HUMAN and c.visitor_hash]
    if not humans:
        return set()
    since = humans[0].moment - UNIQUE_VISIT_WINDOW
    hashes = sorted({c.visitor_hash for c in humans if c.visitor_hash})
    last_seen: dict[tuple[int, str], datetime] = {}
    for start in range(0, len(hashes), _LOOKUP_CHUNK):
        chunk = hashes[start : start + _LOOKUP_CHUNK]
        found = session.execute(
            select(clicks.c.link_id, clicks.c.visitor_hash, func.max(clicks.c.occurred_at))
            .where(
                clicks.c.visitor_hash.in_(chunk),
                clicks.c.occurred_at >= since,
                clicks.c.kind == VisitorKind.HUMAN.value,
            )
            .group_by(clicks.c.link_id, clicks.c.visitor_hash)
        )
        for link_id, visitor_hash, latest in found:
            last_seen[(link_id, visitor_hash)] = as_utc(latest)
    unique: set[str] = set()
    for click in humans:
        assert click.visitor_hash is not None
        key = (click.link_id, click.visitor_hash)
        previous = last_seen.get(key)
        if previous is None or click.moment - previous >= UNIQUE_VISIT_WINDOW:
            unique.add(click.click_id)
        last_seen[key] = click.moment
    return unique


def _add_to_rollups(session: Session, daily: dict[tuple[int, date, str], _DailyTally]) -> None:
    rows = [
        {
            "link_id": link_id,
            "day": day,
            "pack_id": pack_id,
            "human_clicks": tally.human_clicks,
            "unique_visitors": tally.unique_visitors,
            "preview_fetches": tally.preview_fetches,
            "bot_clicks": tally.bot_clicks,
        }
        for (link_id, day, pack_id), tally in sorted(daily.items(), key=lambda item: item[0][:2])
    ]
    statement = upsert(session, click_daily)
    counters = ("human_clicks", "unique_visitors", "preview_fetches", "bot_clicks")
    statement = statement.on_conflict_do_update(
        index_elements=[click_daily.c.link_id, click_daily.c.day],
        set_={name: click_daily.c[name] + statement.excluded[name] for name in counters},
    )
    session.execute(statement, rows)


def _count_human_clicks(
    session: Session, human_per_link: dict[int, int], *, outbox: Outbox | None
) -> list[tuple[int, int]]:
    """Add to each link's human-click counter and announce the milestones it passes."""
    if not human_per_link:
        return []
    # One statement per link, sent as one executemany; sorted, so two drains touching
    # the same links lock them in the same order. The rows stay locked until commit, so
    # the counts read back are exactly the counts after this batch.
    ordered = sorted(human_per_link)
    session.execute(
        update(referral_links)
        .where(referral_links.c.id == bindparam("target_id"))
        .values(human_clicks=referral_links.c.human_clicks + bindparam("added")),
        [{"target_id": link_id, "added": human_per_link[link_id]} for link_id in ordered],
    )
    reached: list[tuple[int, int]] = []
    for start in range(0, len(ordered), _LOOKUP_CHUNK):
        rows = session.execute(
            select(
                referral_links.c.id,
                referral_links.c.human_clicks,
                referral_links.c.fan_id,
                referral_links.c.pack_id,
                referral_links.c.code,
            ).where(referral_links.c.id.in_(ordered[start : start + _LOOKUP_CHUNK]))
        )
        for row in rows:
            added = human_per_link[row.id]
            for milestone in milestones_crossed(row.human_clicks - added, row.human_clicks):
                reached.append((row.id, milestone))
                # An erased fan's link keeps counting, but credits nobody.
                if outbox is not None and row.fan_id is not None:
                    outbox.add(
                        session,
                        "referrals.human_click",
                        {
                            "link_id": str(row.id),
                            "fan_id": row.fan_id,
                            "pack_id": row.pack_id,
                            "code": row.code,
                            "milestone": milestone,
                            "human_clicks": row.human_clicks,
                        },
                    )
    return reached

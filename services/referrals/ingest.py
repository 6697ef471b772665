"""Clicks into the database: raw rows, daily roll-ups, link counters and milestone events.

One batch is one transaction. Clicks are unique by (click id, time), and a click
carries its own time, so a batch delivered again
(a drain that died before acknowledging its stream entries) inserts nothing
twice, and only the rows actually inserted move the counters.

On PostgreSQL each step is one statement over arrays (``unnest``), so a batch of
thousands of clicks costs a handful of round trips and no per-row SQL parsing;
on SQLite, where round trips are free, the same steps are plain executemany.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.orm import Session

from services.common.db import Database
from services.common.outbox import Outbox
from services.common.sql import dialect_insert, is_postgresql
from services.referrals.classify import VisitorKind
from services.referrals.clicks import Click
from services.referrals.models import click_daily, clicks, referral_links
from services.referrals.partitions import ensure_partitions

# The same visitor clicking the same link again within this long is one unique visitor.
UNIQUE_VISIT_WINDOW = timedelta(minutes=30)
# Lookups of earlier visits go in chunks that stay under SQLite's parameter limit.
_LOOKUP_CHUNK = 900

# Arrays travel as one separator-joined string each and are split by the server:
# psycopg would otherwise inspect every element in Python to quote it.
_SEPARATOR = "\x1f"
_PG_INSERT_CLICKS = text(
    """
    INSERT INTO clicks
        (click_id, link_id, pack_id, kind, visitor_hash, ip_hash, unique_visit, occurred_at)
    SELECT click_id, link_id, pack_id, kind, visitor_hash, ip_hash, unique_visit,
           to_timestamp(epoch)
    FROM unnest(
        string_to_array(:click_ids, :sep),
        CAST(string_to_array(:link_ids, :sep) AS bigint[]),
        string_to_array(:pack_ids, :sep),
        string_to_array(:kinds, :sep),
        string_to_array(:visitor_hashes, :sep, ''),
        string_to_array(:ip_hashes, :sep, ''),
        CAST(string_to_array(:unique_visits, :sep) AS boolean[]),
        CAST(string_to_array(:epochs, :sep) AS float8[])
    ) AS batch(click_id, link_id, pack_id, kind, visitor_hash, ip_hash, unique_visit, epoch)
    ON CONFLICT (click_id, occurred_at) DO NOTHING
    RETURNING click_id
    """
)
_PG_ADD_TO_ROLLUPS = text(
    """
    INSERT INTO click_daily
        (link_id, day, pack_id, human_clicks, unique_visitors, preview_fetches, bot_clicks)
    SELECT * FROM unnest(
        CAST(string_to_array(:link_ids, :sep) AS bigint[]),
        CAST(string_to_array(:days, :sep) AS date[]),
        string_to_array(:pack_ids, :sep),
        CAST(string_to_array(:human, :sep) AS integer[]),
        CAST(string_to_array(:unique, :sep) AS integer[]),
        CAST(string_to_array(:preview, :sep) AS integer[]),
        CAST(string_to_array(:bot, :sep) AS integer[]))
    ON CONFLICT (link_id, day) DO UPDATE SET
        human_clicks = click_daily.human_clicks + excluded.human_clicks,
        unique_visitors = click_daily.unique_visitors + excluded.unique_visitors,
        preview_fetches = click_daily.preview_fetches + excluded.preview_fetches,
        bot_clicks = click_daily.bot_clicks + excluded.bot_clicks
    """
)
_PG_COUNT_HUMAN_CLICKS = text(
    """
    UPDATE referral_links AS link SET human_clicks = link.human_clicks + added.count
    FROM unnest(
        CAST(string_to_array(:link_ids, :sep) AS bigint[]),
        CAST(string_to_array(:counts, :sep) AS bigint[])
    ) AS added(id, count)
    WHERE link.id = added.id
    RETURNING link.id, link.human_clicks, link.fan_id, link.pack_id, link.code
    """
)
_PG_LAST_VISITS = text(
    """
    SELECT link_id, visitor_hash, max(occurred_at) FROM clicks
    WHERE visitor_hash = ANY(string_to_array(:hashes, :sep)) AND occurred_at >= :since
      AND kind = 'human'
    GROUP BY link_id, visitor_hash
    """
).columns(clicks.c.link_id, clicks.c.visitor_hash, clicks.c.occurred_at)


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


def store_clicks(db: Database, batch: Sequence[Click], *, outbox: Outbox | None) -> IngestResult:
    """Store ``batch`` in a transaction of its own, once its days have partitions."""
    # A millisecond either side: the database rounds a time near midnight on its own.
    days = {
        datetime.fromtimestamp(click.occurred_at + offset, UTC).date()
        for click in batch
        for offset in (-0.001, 0.001)
    }
    ensure_partitions(db, days)
    with db.transaction() as session:
        return ingest_clicks(session, batch, outbox=outbox)


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
    inserted_ids = _insert_clicks(session, unique_batch, unique_visits)
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
    if is_postgresql(session):
        found: Any = session.execute(
            _PG_LAST_VISITS, {"hashes": _joined(hashes), "since": since, "sep": _SEPARATOR}
        )
        for link_id, visitor_hash, latest in found:
            last_seen[(link_id, visitor_hash)] = latest
    else:
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
                last_seen[(link_id, visitor_hash)] = latest
    unique: set[str] = set()
    for click in humans:
        assert click.visitor_hash is not None
        key = (click.link_id, click.visitor_hash)
        previous = last_seen.get(key)
        if previous is None or click.moment - previous >= UNIQUE_VISIT_WINDOW:
            unique.add(click.click_id)
        last_seen[key] = click.moment
    return unique


def _insert_clicks(session: Session, batch: list[Click], unique_visits: set[str]) -> set[str]:
    """Insert the clicks not stored yet; the ids of those inserted now."""
    if is_postgresql(session):
        parameters = {
            "sep": _SEPARATOR,
            "click_ids": _joined(c.click_id for c in batch),
            "link_ids": _joined(str(c.link_id) for c in batch),
            "pack_ids": _joined(c.pack_id for c in batch),
            "kinds": _joined(c.kind.value for c in batch),
            "visitor_hashes": _joined(c.visitor_hash or "" for c in batch),
            "ip_hashes": _joined(c.ip_hash or "" for c in batch),
            "unique_visits": _joined("t" if c.click_id in unique_visits else "f" for c in batch),
            "epochs": _joined(repr(c.occurred_at) for c in batch),
        }
        return set(session.scalars(_PG_INSERT_CLICKS, parameters).all())
    rows = [
        {
            "click_id": c.click_id,
            "link_id": c.link_id,
            "pack_id": c.pack_id,
            "kind": c.kind.value,
            "visitor_hash": c.visitor_hash,
            "ip_hash": c.ip_hash,
            "unique_visit": c.click_id in unique_visits,
            "occurred_at": c.moment,
        }
        for c in batch
    ]
    statement = (
        dialect_insert(session, clicks)
        .on_conflict_do_nothing(index_elements=[clicks.c.click_id, clicks.c.occurred_at])
        .returning(clicks.c.click_id)
    )
    return set(session.scalars(statement, rows).all())


def _joined(values: Iterable[str]) -> str:
    return _SEPARATOR.join(values)


def _add_to_rollups(session: Session, daily: dict[tuple[int, date, str], _DailyTally]) -> None:
    # Sorted, so two drains touching the same rows lock them in the same order.
    ordered = sorted(daily.items(), key=lambda item: item[0][:2])
    if is_postgresql(session):
        session.execute(
            _PG_ADD_TO_ROLLUPS,
            {
                "sep": _SEPARATOR,
                "link_ids": _joined(str(key[0]) for key, _ in ordered),
                "days": _joined(key[1].isoformat() for key, _ in ordered),
                "pack_ids": _joined(key[2] for key, _ in ordered),
                "human": _joined(str(tally.human_clicks) for _, tally in ordered),
                "unique": _joined(str(tally.unique_visitors) for _, tally in ordered),
                "preview": _joined(str(tally.preview_fetches) for _, tally in ordered),
                "bot": _joined(str(tally.bot_clicks) for _, tally in ordered),
            },
        )
        return
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
        for (link_id, day, pack_id), tally in ordered
    ]
    statement = dialect_insert(session, click_daily)
    counters = ("human_clicks", "unique_visitors", "preview_fetches", "bot_clicks")
    statement = statement.on_conflict_do_update(
        index_elements=[click_daily.c.link_id, click_daily.c.day],
        set_={name: click_daily.c[name] + statement.excluded[name] for name in counters},
    )
    session.execute(statement, rows)


def _count_human_clicks(
    session: Session, human_per_link: dict[int, int], *, outbox: Outbox | None
) -> list[tuple[int, int]]:
    """Add to each link's human-click counter and announce the milestones it passes.

    The updated rows stay locked until commit, so the counts read back are exactly
    the counts after this batch, and the milestones between are this batch's own.
    """
    if not human_per_link:
        return []
    ordered = sorted(human_per_link)
    if is_postgresql(session):
        counted: list[Any] = list(
            session.execute(
                _PG_COUNT_HUMAN_CLICKS,
                {
                    "sep": _SEPARATOR,
                    "link_ids": _joined(str(i) for i in ordered),
                    "counts": _joined(str(human_per_link[i]) for i in ordered),
                },
            )
        )
    else:
        session.execute(
            update(referral_links)
            .where(referral_links.c.id == bindparam("target_id"))
            .values(human_clicks=referral_links.c.human_clicks + bindparam("added")),
            [{"target_id": link_id, "added": human_per_link[link_id]} for link_id in ordered],
        )
        counted = []
        for start in range(0, len(ordered), _LOOKUP_CHUNK):
            counted += session.execute(
                select(
                    referral_links.c.id,
                    referral_links.c.human_clicks,
                    referral_links.c.fan_id,
                    referral_links.c.pack_id,
                    referral_links.c.code,
                ).where(referral_links.c.id.in_(ordered[start : start + _LOOKUP_CHUNK]))
            ).all()
    reached: list[tuple[int, int]] = []
    announcements: list[dict[str, Any]] = []
    for link_id, human_clicks, fan_id, pack_id, code in counted:
        added = human_per_link[link_id]
        for milestone in milestones_crossed(human_clicks - added, human_clicks):
            reached.append((link_id, milestone))
            # An erased fan's link keeps counting, but credits nobody.
            if fan_id is not None:
                announcements.append(
                    {
                        "link_id": str(link_id),
                        "fan_id": fan_id,
                        "pack_id": pack_id,
                        "code": code,
                        "milestone": milestone,
                        "human_clicks": human_clicks,
                    }
                )
    if outbox is not None and announcements:
        _add_events(session, outbox, "referrals.human_click", announcements)
    return reached


def _add_events(
    session: Session, outbox: Outbox, event_type: str, payloads: list[dict[str, Any]]
) -> None:
    """Many events into the outbox in one statement.

    A first busy hour crosses the 1 and 10 milestones of thousands of links at once;
    one INSERT per event would cost a round trip each.
    """
    outbox.add_many(session, event_type, payloads)

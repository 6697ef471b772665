"""Retention of the event plumbing tables: a bounded purge, run periodically.

Every service's ``outbox_events`` keeps each event it sent and its
``processed_events`` each event id it consumed; without a purge both grow
forever. This module deletes:

- outbox rows *sent* more than ``OUTBOX_RETENTION_DAYS`` ago (default 7). An
  unsent row is never purged, whatever its age: it is an event still owed to
  its consumers;
- ``processed_events`` rows processed more than
  ``PROCESSED_EVENTS_RETENTION_DAYS`` ago (default 30);
- ``dead_letters`` rows of events that have been applied since (sent again with
  ``fanfare events dead-letters retry``): resolved, whatever their age. Every
  other dead letter stays until someone discards it
  (:mod:`services.common.dead_letters`). They go first, while the
  ``processed_events`` rows that show them applied are still there.

Why the inbox must outlive the outbox: a ``processed_events`` row is what makes
a second delivery of an event change nothing. A producer may send an event
again for as long as its outbox row exists: ``Outbox.resend_overdue`` marks
unsent every event whose delivery receipt is overdue
(:mod:`services.common.delivery_receipts`) and the relay sends it again; and a
message sent may still wait on a queue, be retried with backoff, or be handed
out again after the broker's visibility timeout. Once the outbox row is gone
nothing sends the event again. A consumer that forgot an event id before its
producer forgot the event would apply a late re-send twice, so the settings
refuse ``PROCESSED_EVENTS_RETENTION_DAYS <= OUTBOX_RETENTION_DAYS``; the margin
(23 days by default) covers what is still in flight after the last send. Each
service can only compare the two values it reads, while producer and consumer
are different services: give every service the same values.

How: in batches of at most ``batch_size`` rows, each in its own short
transaction, so a backlog of millions never holds one long transaction or
lock: ``DELETE ... WHERE key = ANY(ARRAY(SELECT key ... WHERE stamp < cutoff
ORDER BY stamp LIMIT n))`` on PostgreSQL (``key IN (SELECT ...)`` on SQLite),
the batch read through the index on the stamp (``ix_outbox_events_sent_at``,
``ix_processed_events_processed_at``) and each row found by its primary key.
On PostgreSQL the subquery locks its rows with ``SKIP LOCKED``: two purges (the
periodic task and ``fanfare events purge``) share the work instead of waiting
on each other, and a row that ``resend_overdue`` marked unsent meanwhile is
re-checked once locked, and kept. The two tables take turns, batch by batch,
until both are done or the time budget is spent; the next run goes on from
there. The cutoffs are fixed when a run starts, so a run always ends.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, cast

from sqlalchemy import Column, CursorResult, Delete, Select, Table, any_, delete, func, select

from services.common.db import Database
from services.common.dead_letters import delete_resolved_dead_letters
from services.common.metrics import EVENT_ROWS_PURGED
from services.common.outbox import EventTables
from services.common.runtime import ServiceRuntime
from services.common.utc_time import utcnow

log = logging.getLogger(__name__)

# Rows per transaction: enough to amortise a commit, few enough that a batch is
# short (measured on 300,000 rows, a busy machine: ~50 ms on PostgreSQL, ~180 ms
# of SQLite's write lock, which the embedded default's writers wait out).
PURGE_BATCH_SIZE: Final = 5_000
# Longest a periodic run deletes for; what is left waits for the next run.
PURGE_TIME_BUDGET_SECONDS: Final = 120.0


@dataclass(frozen=True)
class PurgeReport:
    """What one purge deleted, per table, and whether it reached the cutoffs."""

    outbox_events: int
    processed_events: int
    complete: bool
    resolved_dead_letters: int = 0


@dataclass
class _Target:
    """One table to purge: its rows whose ``stamp`` is before ``cutoff`` go."""

    table: Table
    key: Column[Any]
    stamp: Column[Any]
    cutoff: datetime
    deleted: int = 0
    done: bool = False


def purge_event_tables(
    db: Database,
    tables: EventTables,
    *,
    outbox_retention_days: int,
    processed_events_retention_days: int,
    batch_size: int = PURGE_BATCH_SIZE,
    time_budget_seconds: float = PURGE_TIME_BUDGET_SECONDS,
) -> PurgeReport:
    """Delete sent outbox rows and processed-event rows older than their retention.

    Each table gets at least one batch per call; further batches only while
    the time budget lasts (``complete`` is False if rows past a cutoff may be
    left).
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    moment = utcnow()
    outbox = tables.outbox
    processed = tables.processed
    targets = [
        _Target(
            outbox, outbox.c.seq, outbox.c.sent_at, moment - timedelta(days=outbox_retention_days)
        ),
        _Target(
            processed,
            processed.c.event_id,
            processed.c.processed_at,
            moment - timedelta(days=processed_events_retention_days),
        ),
    ]
    deadline = time.monotonic() + time_budget_seconds
    resolved_dead_letters = delete_resolved_dead_letters(db, tables)
    while True:
        for target in targets:
            if not target.done:
                deleted = _delete_one_batch(db, target, batch_size)
                target.deleted += deleted
                target.done = deleted < batch_size
        if all(target.done for target in targets) or time.monotonic() >= deadline:
            break
    report = PurgeReport(
        outbox_events=targets[0].deleted,
        processed_events=targets[1].deleted,
        complete=all(target.done for target in targets),
        resolved_dead_letters=resolved_dead_letters,
    )
    log.info(
        "event tables purged: %d outbox events sent before %s, %d processed events before %s, "
        "%d dead letters of events applied since%s",
        report.outbox_events,
        targets[0].cutoff.isoformat(),
        report.processed_events,
        targets[1].cutoff.isoformat(),
        report.resolved_dead_letters,
        "" if report.complete else " (time budget spent; the next run goes on)",
        extra={
            "outbox_events_purged": report.outbox_events,
            "processed_events_purged": report.processed_events,
            "resolved_dead_letters_purged": report.resolved_dead_letters,
            "purge_complete": report.complete,
        },
    )
    return report


def purge_service_event_tables(
    runtime: ServiceRuntime, *, time_budget_seconds: float = PURGE_TIME_BUDGET_SECONDS
) -> PurgeReport | None:
    """Purge the running service's event tables by its settings; None if it has none."""
    if runtime.event_tables is None:
        return None
    settings = runtime.settings
    report = purge_event_tables(
        runtime.db,
        runtime.event_tables,
        outbox_retention_days=settings.outbox_retention_days,
        processed_events_retention_days=settings.processed_events_retention_days,
        time_budget_seconds=time_budget_seconds,
    )
    for table, deleted in (
        ("outbox_events", report.outbox_events),
        ("processed_events", report.processed_events),
        ("dead_letters", report.resolved_dead_letters),
    ):
        EVENT_ROWS_PURGED.labels(runtime.service, table).inc(deleted)
    return report


def oldest_rows_before(
    key: Column[Any], stamp: Column[Any], *, cutoff: datetime, limit: int
) -> Select[Any]:
    """The keys of up to ``limit`` rows stamped before ``cutoff``, oldest first (one batch)."""
    return (
        select(key)
        # IS NOT NULL: an unsent outbox row (no sent_at) is never purged.
        .where(stamp.is_not(None), stamp < cutoff)
        .order_by(stamp)
        .limit(limit)
    )


def purge_batch_statement(
    table: Table,
    key: Column[Any],
    stamp: Column[Any],
    *,
    cutoff: datetime,
    limit: int,
    dialect: str,
) -> Delete:
    """``DELETE`` of up to ``limit`` of the oldest rows of ``table`` stamped before ``cutoff``."""
    chosen = oldest_rows_before(key, stamp, cutoff=cutoff, limit=limit)
    if dialect == "postgresql":
        # = ANY(ARRAY(...)): the batch is chosen once and each row found by its key.
        # With IN (...) the planner hashed the batch and scanned the whole table
        # for it, on every batch (seen on 300,000 rows): quadratic on a backlog.
        locked = chosen.with_for_update(skip_locked=True).scalar_subquery()
        return delete(table).where(key == any_(func.array(locked)))
    return delete(table).where(key.in_(chosen))


def _delete_one_batch(db: Database, target: _Target, batch_size: int) -> int:
    """Delete up to ``batch_size`` of the oldest rows before the cutoff; how many went."""
    statement = purge_batch_statement(
        target.table,
        target.key,
        target.stamp,
        cutoff=target.cutoff,
        limit=batch_size,
        dialect=db.dialect,
    )
    with db.transaction() as session:
        result = session.execute(statement)
        return int(cast(CursorResult[Any], result).rowcount)

"""Periodic work of the referrals worker, scheduled by Celery beat.

- ``referrals.drain_clicks``: the click stream into the clicks table and roll-ups.
- ``referrals.release_held_conversions``: approve clean conversions after the hold.
- ``referrals.delete_old_clicks``: raw clicks past ``CLICK_RETENTION_DAYS`` (roll-ups stay):
  whole daily partitions dropped on PostgreSQL, where it also makes the next days' ones.

Each run is idempotent and bounded in time; a run that fails is retried by the
next tick of its schedule. A click that cannot be stored at all (a poison
entry) is parked in ``dead_letters`` (kind ``task``) and acknowledged, so it
never blocks the stream.
"""

from __future__ import annotations

import logging
import time
import traceback
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta

from celery import Celery
from sqlalchemy import delete, select, tuple_
from sqlalchemy.exc import DBAPIError, IntegrityError

from services.common.runtime import ServiceRuntime
from services.referrals.components import ReferralsComponents
from services.referrals.conversions import release_held_conversions
from services.referrals.ingest import store_clicks
from services.referrals.models import clicks
from services.referrals.partitions import drop_expired_partitions, ensure_partitions_ahead
from services.referrals.redis_adapters import StreamBatch

log = logging.getLogger(__name__)

DRAIN_TASK = "referrals.drain_clicks"
RELEASE_TASK = "referrals.release_held_conversions"
RETENTION_TASK = "referrals.delete_old_clicks"
DRAIN_LOCK = "referrals:drain-lock"
# A run stops taking new batches after this long; the next tick goes on.
RUN_BUDGET_SECONDS = 20.0
RETENTION_CHUNK = 10_000
# Partitions exist this many days ahead (PostgreSQL); a click that finds none makes its own.
PARTITIONS_AHEAD_DAYS = 7


def drain_clicks(runtime: ServiceRuntime, components: ReferralsComponents) -> int:
    """Move clicks from the stream into the database; returns how many were stored."""
    lock = runtime.redis.lock(DRAIN_LOCK, timeout=RUN_BUDGET_SECONDS * 3, blocking=False)
    if not lock.acquire(blocking=False):
        return 0  # another drain is running; one at a time keeps visits counted right
    try:
        stream = components.stream
        stream.ensure_group()
        stored = 0
        # First what an earlier run read but never acknowledged, then new entries.
        pending = True
        deadline = time.monotonic() + RUN_BUDGET_SECONDS
        while time.monotonic() < deadline:
            batch = stream.read(components.settings.click_drain_batch_size, pending=pending)
            if not batch.entry_ids:
                if pending:
                    pending = False
                    continue
                break
            stored += _store(runtime, batch)
            _park_malformed(runtime, batch)
            stream.acknowledge(batch.entry_ids)
        return stored
    finally:
        lock.release()


def _store(runtime: ServiceRuntime, batch: StreamBatch) -> int:
    try:
        return store_clicks(runtime.db, batch.clicks, outbox=runtime.outbox).inserted
    except IntegrityError:
        log.warning("a batch of %d clicks failed; storing them one by one", len(batch.clicks))
    stored = 0
    for click in batch.clicks:
        try:
            stored += store_clicks(runtime.db, [click], outbox=runtime.outbox).inserted
        except IntegrityError as exc:
            assert runtime.consumer is not None
            runtime.consumer.dead_letter(
                runtime.db,
                kind="task",
                name=DRAIN_TASK,
                reference=f"click:{click.click_id}",
                payload={"click": click.encode()},
                error="".join(traceback.format_exception(exc)),
                attempts=1,
            )
            log.error("click %s parked in dead_letters: %s", click.click_id, exc.orig)
    return stored


def _park_malformed(runtime: ServiceRuntime, batch: StreamBatch) -> None:
    assert runtime.consumer is not None
    for entry_id, problem in batch.malformed.items():
        runtime.consumer.dead_letter(
            runtime.db,
            kind="task",
            name=DRAIN_TASK,
            reference=f"stream-entry:{entry_id}",
            payload={"entry_id": entry_id},
            error=f"not a click: {problem}",
            attempts=1,
        )
        log.error("stream entry %s is not a click; parked in dead_letters", entry_id)


def release_held(runtime: ServiceRuntime, *, now: datetime | None = None) -> int:
    released = 0
    deadline = time.monotonic() + RUN_BUDGET_SECONDS
    while time.monotonic() < deadline:
        with runtime.db.transaction() as session:
            count = release_held_conversions(
                session, runtime.outbox, now=now or datetime.now(UTC), limit=500
            )
        released += count
        if count < 500:
            break
    return released


@dataclass
class RetentionResult:
    partitions_created: list[str] = field(default_factory=list)
    partitions_dropped: list[str] = field(default_factory=list)
    rows_deleted: int = 0


def delete_old_clicks(
    runtime: ServiceRuntime, *, retention_days: int, now: datetime | None = None
) -> RetentionResult:
    """Raw clicks past retention go; roll-ups stay. Next days' partitions are made ahead.

    On PostgreSQL whole expired days are dropped as partitions; what is left past the
    cutoff (in the partition that straddles it, or anywhere on SQLite) is deleted in
    chunks, each its own short transaction.
    """
    moment = now or datetime.now(UTC)
    cutoff = moment - timedelta(days=retention_days)
    result = RetentionResult(
        partitions_created=ensure_partitions_ahead(
            runtime.db, today=moment.date(), days_ahead=PARTITIONS_AHEAD_DAYS
        ),
        partitions_dropped=drop_expired_partitions(runtime.db, cutoff=cutoff),
    )
    deadline = time.monotonic() + RUN_BUDGET_SECONDS
    while time.monotonic() < deadline:
        with runtime.db.transaction() as session:
            old_keys = (
                select(clicks.c.click_id, clicks.c.occurred_at)
                .where(clicks.c.occurred_at < cutoff)
                .limit(RETENTION_CHUNK)
            )
            deleted = session.execute(
                delete(clicks).where(tuple_(clicks.c.click_id, clicks.c.occurred_at).in_(old_keys))
            )
            count = int(getattr(deleted, "rowcount", 0) or 0)
        result.rows_deleted += count
        if count < RETENTION_CHUNK:
            break
    return result


def register_tasks(
    celery: Celery, runtime: ServiceRuntime, components: ReferralsComponents
) -> None:
    settings = components.settings

    @celery.task(name=DRAIN_TASK, acks_late=False, time_limit=90, soft_time_limit=60)
    def drain_clicks_task() -> int:
        """Drain the click stream (beat, every CLICK_DRAIN_INTERVAL_SECONDS)."""
        try:
            return drain_clicks(runtime, components)
        except DBAPIError as exc:
            log.warning("click drain paused, the database refused: %s", exc)
            return 0

    @celery.task(name=RELEASE_TASK, acks_late=False, time_limit=90, soft_time_limit=60)
    def release_held_task() -> int:
        """Approve conversions whose hold is over (beat)."""
        return release_held(runtime)

    @celery.task(name=RETENTION_TASK, acks_late=False, time_limit=90, soft_time_limit=60)
    def delete_old_clicks_task() -> dict[str, object]:
        """Make the next days' click partitions; drop or delete raw clicks past retention."""
        return asdict(delete_old_clicks(runtime, retention_days=settings.click_retention_days))

    def every(seconds: float, task: str) -> dict[str, object]:
        # A tick that could not run in time is dropped, not queued behind the next one.
        return {"task": task, "schedule": seconds, "options": {"expires": max(5.0, seconds * 2)}}

    celery.conf.beat_schedule.update(
        {
            "drain-clicks": every(settings.click_drain_interval_seconds, DRAIN_TASK),
            "release-held-conversions": every(settings.hold_release_interval_seconds, RELEASE_TASK),
            "delete-old-clicks": every(settings.retention_interval_seconds, RETENTION_TASK),
        }
    )

"""Daily partitions of the raw clicks table on PostgreSQL.

``clicks`` is range-partitioned by ``occurred_at``, one partition per UTC day
(``clicks_pYYYYMMDD``). Partitions are made ahead by the periodic task and, so an
insert never fails for lack of one, on demand before every batch is stored.
Retention drops whole expired partitions instead of deleting rows. Creating or
dropping a partition locks the parent table, so it happens in its own short
transaction, serialized by an advisory lock, never inside a batch's transaction.

SQLite has no partitioning: there ``clicks`` is a plain table and every function
here does nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import text

from services.common.db import Database

PARENT = "clicks"
_NAME = re.compile(r"^clicks_p(\d{8})$")
# pg_advisory_xact_lock key of partition creation and removal ("clik").
_LOCK_KEY = 0x636C696B

_MISSING = text(
    "SELECT name FROM unnest(CAST(:names AS text[])) AS name WHERE to_regclass(name) IS NULL"
)
_PARTITIONS = text(
    """
    SELECT child.relname FROM pg_inherits
    JOIN pg_class AS child ON child.oid = pg_inherits.inhrelid
    WHERE pg_inherits.inhparent = CAST(:parent AS regclass)
    """
)


def partition_name(day: date) -> str:
    return f"{PARENT}_p{day:%Y%m%d}"


def day_of_partition(name: str) -> date | None:
    match = _NAME.match(name)
    return datetime.strptime(match.group(1), "%Y%m%d").date() if match else None


def is_partitioned(db: Database) -> bool:
    return db.engine.dialect.name == "postgresql"


def ensure_partitions(db: Database, days: Iterable[date]) -> list[str]:
    """Make sure a partition exists for each of ``days``; returns the ones created now."""
    if not is_partitioned(db):
        return []
    wanted = sorted({partition_name(day): day for day in days}.items())
    if not wanted:
        return []
    with db.transaction() as session:
        missing = set(session.scalars(_MISSING, {"names": [name for name, _ in wanted]}))
    created = []
    for name, day in wanted:
        if name in missing and _create_partition(db, name, day):
            created.append(name)
    return created


def ensure_partitions_ahead(db: Database, *, today: date, days_ahead: int) -> list[str]:
    """Partitions from yesterday (late clicks) to ``days_ahead`` days from ``today``."""
    return ensure_partitions(db, (today + timedelta(days=n) for n in range(-1, days_ahead + 1)))


def drop_expired_partitions(db: Database, *, cutoff: datetime) -> list[str]:
    """Drop every partition whose whole day is before ``cutoff``; returns their names.

    The partition holding ``cutoff`` itself keeps its newer rows; its older ones are
    left to the row-by-row trim (at most a day's worth).
    """
    if not is_partitioned(db):
        return []
    with db.transaction() as session:
        names = list(session.scalars(_PARTITIONS, {"parent": PARENT}))
    days = {name: day_of_partition(name) for name in names}
    expired = sorted(
        name
        for name, day in days.items()
        if day is not None and _day_start(day + timedelta(days=1)) <= cutoff
    )
    for name in expired:
        with db.transaction() as session:
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
            session.execute(text(f'DROP TABLE IF EXISTS "{name}"'))
    return expired


def _create_partition(db: Database, name: str, day: date) -> bool:
    start, end = _day_start(day), _day_start(day + timedelta(days=1))
    with db.transaction() as session:
        # Serialized and re-checked: two processes missing the same day create it once.
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        if session.scalar(text("SELECT to_regclass(:name)"), {"name": name}) is not None:
            return False
        # Names and bounds come from a date, never from input: safe to inline (DDL takes
        # no bind parameters).
        session.execute(
            text(
                f'CREATE TABLE "{name}" PARTITION OF {PARENT} '
                f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
            )
        )
    return True


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)

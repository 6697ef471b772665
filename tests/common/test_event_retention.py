"""The event tables are purged of what they no longer need, and of nothing else.

Sent outbox rows go after ``OUTBOX_RETENTION_DAYS``, processed-event ids after
``PROCESSED_EVENTS_RETENTION_DAYS``; unsent events stay whatever their age; a
backlog goes in short batches; a consumer still recognises a re-sent recent
event. On SQLite and PostgreSQL, directly, through the periodic task in a real
Celery worker, and through ``fanfare events purge``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pydantic import ValidationError
from sqlalchemy import insert, select, text

from fanfare.apps import get_app_spec
from fanfare.cli import main
from services.common import migrations
from services.common.celery_app import send_event
from services.common.db import Database, new_metadata
from services.common.event_retention import (
    PurgeReport,
    purge_batch_statement,
    purge_event_tables,
)
from services.common.events import Event
from services.common.outbox import EventConsumer, EventTables
from services.common.runtime import ServiceRuntime
from services.common.settings import CommonSettings
from services.content.settings import ContentSettings
from tests.support import probe_service
from tests.support.postgres import PostgresHarness
from tests.support.workers import wait_until

metadata = new_metadata()
event_tables = EventTables(metadata)

OUTBOX_DAYS = 7
PROCESSED_DAYS = 30
SERVICES_WITH_EVENT_TABLES = ("content", "referrals", "rewards")


def days_ago(days: float) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)


def add_outbox_events(
    db: Database,
    count: int,
    *,
    sent_at: datetime | None,
    occurred_at: datetime | None = None,
    tables: EventTables = event_tables,
) -> set[str]:
    """``count`` outbox rows sent at ``sent_at`` (None: never sent); their event ids."""
    rows = [
        {
            "event_id": str(uuid.uuid4()),
            "event_type": "probe.noted",
            "payload": {"text": f"event {n}"},
            "occurred_at": occurred_at or sent_at or datetime.now(UTC),
            "sent_at": sent_at,
        }
        for n in range(count)
    ]
    with db.transaction() as session:
        session.execute(insert(tables.outbox), rows)
    return {str(row["event_id"]) for row in rows}


def add_processed_events(
    db: Database, count: int, *, processed_at: datetime, tables: EventTables = event_tables
) -> set[str]:
    """``count`` processed-event rows recorded at ``processed_at``; their event ids."""
    rows = [
        {"event_id": str(uuid.uuid4()), "event_type": "probe.noted", "processed_at": processed_at}
        for _ in range(count)
    ]
    with db.transaction() as session:
        session.execute(insert(tables.processed), rows)
    return {str(row["event_id"]) for row in rows}


def outbox_event_ids(db: Database, tables: EventTables = event_tables) -> set[str]:
    with db.transaction() as session:
        return {str(row) for row in session.scalars(select(tables.outbox.c.event_id))}


def processed_event_ids(db: Database, tables: EventTables = event_tables) -> set[str]:
    with db.transaction() as session:
        return {str(row) for row in session.scalars(select(tables.processed.c.event_id))}


def purge(db: Database, **options: Any) -> PurgeReport:
    return purge_event_tables(
        db,
        event_tables,
        outbox_retention_days=OUTBOX_DAYS,
        processed_events_retention_days=PROCESSED_DAYS,
        **options,
    )


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """A fresh database (SQLite, then PostgreSQL) holding the event tables."""
    database = Database(database_url)
    metadata.create_all(database.engine)
    yield database
    database.dispose()


# --- the purge itself -------------------------------------------------------


def test_sent_outbox_events_past_retention_go_and_recent_ones_stay(db: Database) -> None:
    # given events sent 8 days ago and events sent 6 days ago, with a 7-day retention
    old = add_outbox_events(db, 3, sent_at=days_ago(OUTBOX_DAYS + 1))
    recent = add_outbox_events(db, 2, sent_at=days_ago(OUTBOX_DAYS - 1))

    # when the event tables are purged
    report = purge(db)

    # then only the recent events are left, and the report counts what went
    assert outbox_event_ids(db) == recent
    assert report == PurgeReport(outbox_events=len(old), processed_events=0, complete=True)


def test_unsent_outbox_events_stay_whatever_their_age(db: Database) -> None:
    # given events written a year ago and never sent (the broker was down, say)
    unsent = add_outbox_events(db, 4, sent_at=None, occurred_at=days_ago(365))

    # when the event tables are purged
    report = purge(db)

    # then every one of them is still there, waiting for the relay
    assert outbox_event_ids(db) == unsent
    assert report.outbox_events == 0


def test_processed_events_past_retention_go_and_recent_ones_stay(db: Database) -> None:
    # given event ids processed 31 days ago and 29 days ago, with a 30-day retention
    old = add_processed_events(db, 3, processed_at=days_ago(PROCESSED_DAYS + 1))
    recent = add_processed_events(db, 2, processed_at=days_ago(PROCESSED_DAYS - 1))

    # when the event tables are purged
    report = purge(db)

    # then only the recent ids are remembered
    assert processed_event_ids(db) == recent
    assert report == PurgeReport(outbox_events=0, processed_events=len(old), complete=True)


def test_a_backlog_larger_than_a_batch_is_purged_whole(db: Database) -> None:
    # given backlogs of 23 old sent events and 17 old processed ids, and recent rows beside them
    add_outbox_events(db, 23, sent_at=days_ago(OUTBOX_DAYS + 2))
    add_processed_events(db, 17, processed_at=days_ago(PROCESSED_DAYS + 2))
    recent_sent = add_outbox_events(db, 3, sent_at=days_ago(1))
    recent_processed = add_processed_events(db, 3, processed_at=days_ago(1))

    # when they are purged four rows per transaction
    report = purge(db, batch_size=4)

    # then all of both backlogs went, and nothing recent
    assert report == PurgeReport(outbox_events=23, processed_events=17, complete=True)
    assert outbox_event_ids(db) == recent_sent
    assert processed_event_ids(db) == recent_processed


def test_a_spent_time_budget_stops_the_purge_and_the_next_run_goes_on(db: Database) -> None:
    # given backlogs of 10 old sent events and 10 old processed ids
    add_outbox_events(db, 10, sent_at=days_ago(OUTBOX_DAYS + 2))
    add_processed_events(db, 10, processed_at=days_ago(PROCESSED_DAYS + 2))

    # when a run has no time beyond its first batch of 4 per table
    first = purge(db, batch_size=4, time_budget_seconds=0)

    # then it deleted one batch of each and says that more is left
    assert first == PurgeReport(outbox_events=4, processed_events=4, complete=False)
    assert len(outbox_event_ids(db)) == 6
    assert len(processed_event_ids(db)) == 6

    # and the next run, with time, finishes the work
    second = purge(db, batch_size=4)
    assert second == PurgeReport(outbox_events=6, processed_events=6, complete=True)
    assert outbox_event_ids(db) == set()
    assert processed_event_ids(db) == set()


def test_a_re_sent_recent_event_is_still_a_duplicate_after_a_purge(db: Database) -> None:
    # given a consumer that applied an event just now, and ids it processed long ago
    applied: list[str] = []
    consumer = EventConsumer(event_tables)
    consumer.on("probe.noted")(lambda _session, event: applied.append(event.id))
    event = Event.new(type="probe.noted", producer="probe", payload={"text": "hello"})
    assert consumer.apply(db, event) is True
    add_processed_events(db, 5, processed_at=days_ago(PROCESSED_DAYS + 1))

    # when the event tables are purged and the event is delivered again
    report = purge(db)
    applied_again = consumer.apply(db, event)

    # then the old ids went, but the recent event is recognised and not applied twice
    assert report.processed_events == 5
    assert applied_again is False
    assert applied == [event.id]


# --- settings ------------------------------------------------------------------


def test_retention_defaults_keep_processed_events_longer_than_the_outbox() -> None:
    # given no retention settings
    settings = CommonSettings()

    # then the documented defaults apply: a week, a month, every hour
    assert settings.outbox_retention_days == 7
    assert settings.processed_events_retention_days == 30
    assert settings.event_retention_interval_seconds == 3600


@pytest.mark.parametrize(("outbox_days", "processed_days"), [(7, 7), (30, 7), (14, 10)])
def test_settings_refuse_an_inbox_retention_not_longer_than_the_outbox(
    monkeypatch: pytest.MonkeyPatch, outbox_days: int, processed_days: int
) -> None:
    # given retention settings where consumers would forget an event id first
    monkeypatch.setenv("OUTBOX_RETENTION_DAYS", str(outbox_days))
    monkeypatch.setenv("PROCESSED_EVENTS_RETENTION_DAYS", str(processed_days))

    # when a service reads its settings, then it refuses them and says which to fix
    with pytest.raises(ValidationError, match=r"PROCESSED_EVENTS_RETENTION_DAYS .* greater than"):
        ContentSettings()


def test_settings_accept_an_inbox_retention_longer_than_the_outbox(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given an inbox kept one day longer than the outbox
    monkeypatch.setenv("OUTBOX_RETENTION_DAYS", "14")
    monkeypatch.setenv("PROCESSED_EVENTS_RETENTION_DAYS", "15")

    # when a service reads its settings, then they are taken as given
    settings = ContentSettings()
    assert (settings.outbox_retention_days, settings.processed_events_retention_days) == (14, 15)


# --- every service's migrated schema serves the purge ---------------------------


@pytest.fixture(params=SERVICES_WITH_EVENT_TABLES)
def service_database(request: pytest.FixtureRequest, database_url: str) -> Iterator[Database]:
    """A service's database migrated to its head."""
    migrations.upgrade(get_app_spec(request.param).migrations_dir, database_url)
    database = Database(database_url)
    yield database
    database.dispose()


def query_plan(session: Any, query: Any) -> str:
    dialect = session.get_bind().dialect
    explain = "EXPLAIN " if dialect.name == "postgresql" else "EXPLAIN QUERY PLAN "
    sql = str(query.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    return "\n".join(str(row[-1]) for row in session.execute(text(explain + sql)))


def test_each_batch_finds_its_rows_by_index_without_scanning_the_table(
    service_database: Database,
) -> None:
    # given a service's migrated tables holding 2,000 sent events and 2,000 processed ids
    db = service_database
    add_outbox_events(db, 2_000, sent_at=days_ago(10))
    add_processed_events(db, 2_000, processed_at=days_ago(40))
    with db.engine.connect() as connection:
        connection.execute(text("ANALYZE"))
        connection.commit()

    # when the database plans one purge batch of each table
    outbox, processed = event_tables.outbox, event_tables.processed
    with db.transaction() as session:
        outbox_plan = query_plan(
            session,
            purge_batch_statement(
                outbox,
                outbox.c.seq,
                outbox.c.sent_at,
                cutoff=days_ago(7),
                limit=100,
                dialect=db.dialect,
            ),
        )
        processed_plan = query_plan(
            session,
            purge_batch_statement(
                processed,
                processed.c.event_id,
                processed.c.processed_at,
                cutoff=days_ago(30),
                limit=100,
                dialect=db.dialect,
            ),
        )

    # then each picks the oldest rows from the index on their age and deletes them by
    # key, reading no table whole (a whole-table read per batch is quadratic on a backlog)
    assert "ix_outbox_events_sent_at" in outbox_plan, outbox_plan
    assert "ix_processed_events_processed_at" in processed_plan, processed_plan
    for plan in (outbox_plan, processed_plan):
        assert "Seq Scan" not in plan, plan
        assert not re.search(r"^SCAN \w+$", plan, re.MULTILINE), plan
    if db.dialect == "postgresql":
        with db.transaction() as session:
            valid = session.scalar(
                text(
                    "SELECT indisvalid FROM pg_index "
                    "WHERE indexrelid = 'ix_processed_events_processed_at'::regclass"
                )
            )
        assert valid is True


# --- the periodic task, in a real worker ------------------------------------------


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_the_periodic_task_purges_in_a_real_worker_and_duplicates_are_still_caught(
    kind: str,
    tmp_path_factory: pytest.TempPathFactory,
    postgres: PostgresHarness,
    redis_server_url: str,
) -> None:
    workdir = tmp_path_factory.mktemp(f"retention-{kind}")
    with probe_service.probe_running(
        kind,
        workdir,
        postgres,
        redis_server_url,
        redis_db=7 if kind == "sqlite" else 8,
        beat=True,
        EVENT_RETENTION_INTERVAL_SECONDS="1",
    ) as (runtime, worker):
        tables = runtime.event_tables
        assert tables is not None
        assert runtime.outbox is not None
        assert runtime.celery is not None
        # given a recent event that went through the relay and was applied
        with runtime.db.transaction() as session:
            event = runtime.outbox.add(session, "probe.noted", {"text": "recent"})
        wait_until(
            lambda: probe_service.count_notes(runtime, event.id) == 1,
            timeout=30,
            message=worker.log_tail(),
        )
        # and event rows past their retention: sent 8 days ago, processed 31 days ago
        old_sent = add_outbox_events(runtime.db, 6, sent_at=days_ago(8), tables=tables)
        old_processed = add_processed_events(
            runtime.db, 6, processed_at=days_ago(31), tables=tables
        )

        # when beat has run the purge task
        def old_rows_gone() -> bool:
            return not (old_sent & outbox_event_ids(runtime.db, tables)) and not (
                old_processed & processed_event_ids(runtime.db, tables)
            )

        wait_until(old_rows_gone, timeout=30, message=worker.log_tail())

        # then the recent event's outbox row and processed id are still there
        assert event.id in outbox_event_ids(runtime.db, tables)
        assert event.id in processed_event_ids(runtime.db, tables)
        assert "event tables purged" in worker.log_text()

        # and the recent event, delivered again, is recognised and not applied twice
        send_event(runtime.celery, "probe", event)
        wait_until(
            lambda: f"event {event.id} (probe.noted) already applied" in worker.log_text(),
            timeout=30,
            message=worker.log_tail(),
        )
        assert probe_service.count_notes(runtime, event.id) == 1


def test_the_purge_task_is_on_the_beat_schedule_at_the_configured_interval(
    tmp_path: Path, redis_url: str
) -> None:
    # given a service configured to purge every 15 minutes
    app = probe_service.create_app(
        probe_service.ProbeSettings(
            environment="test",
            database_url=f"sqlite:///{tmp_path / 'probe.db'}",
            redis_url=redis_url,
            event_retention_interval_seconds=900,
        )
    )
    runtime: ServiceRuntime = app.extensions["fanfare"]
    try:
        # when its Celery app is built
        celery = app.extensions["celery"]

        # then beat runs the purge every 15 minutes and drops a run left queued that long
        # (the task's conf is not read here: finalizing a second probe app in this
        # process would meet the first one's shared tasks under the same names)
        entry = celery.conf.beat_schedule["purge-event-tables"]
        assert entry["task"] == "probe.purge_event_tables"
        assert entry["schedule"] == 900
        assert entry["options"]["expires"] == 900
    finally:
        runtime.db.dispose()


# --- fanfare events purge ----------------------------------------------------------


def test_fanfare_events_purge_purges_a_service_now(database_url: str) -> None:
    # given content's migrated database with old and recent event rows
    migrations.upgrade(get_app_spec("content").migrations_dir, database_url)
    db = Database(database_url)
    try:
        add_outbox_events(db, 3, sent_at=days_ago(8))
        recent_sent = add_outbox_events(db, 2, sent_at=days_ago(1))
        add_processed_events(db, 4, processed_at=days_ago(31))
        recent_processed = add_processed_events(db, 1, processed_at=days_ago(1))

        # when an operator runs `fanfare events purge --service content`
        result = CliRunner().invoke(
            main,
            ["events", "purge", "--service", "content"],
            env={"DATABASE_URL": database_url, "FANFARE_ENV": "test"},
        )

        # then it says what went, and only the recent rows are left
        assert result.exit_code == 0, result.output
        assert "content: purged 3 outbox events" in result.output
        assert "4 processed events" in result.output
        assert outbox_event_ids(db) == recent_sent
        assert processed_event_ids(db) == recent_processed
    finally:
        db.dispose()


def test_fanfare_events_purge_refuses_bad_retention_settings(database_url: str) -> None:
    # given retention settings where consumers would forget first
    env = {
        "DATABASE_URL": database_url,
        "FANFARE_ENV": "test",
        "OUTBOX_RETENTION_DAYS": "30",
        "PROCESSED_EVENTS_RETENTION_DAYS": "7",
    }

    # when an operator runs the purge
    result = CliRunner().invoke(main, ["events", "purge", "--service", "content"], env=env)

    # then it refuses, naming the setting to fix, and touches nothing
    assert result.exit_code == 1
    assert "PROCESSED_EVENTS_RETENTION_DAYS" in result.output


def test_fanfare_events_purge_needs_a_service_when_database_url_names_one(
    database_url: str,
) -> None:
    # given DATABASE_URL set (one database) and no --service
    env = {"DATABASE_URL": database_url, "FANFARE_ENV": "test"}

    # when an operator runs the purge for every service
    result = CliRunner().invoke(main, ["events", "purge"], env=env)

    # then it asks which service the database belongs to
    assert result.exit_code == 2
    assert "--service" in result.output

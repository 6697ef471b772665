"""Dead letters are seen, sent again once fixed, and let go; never lost on the way.

On SQLite and PostgreSQL: the listing and its ``resolved`` flag, the refusals,
the purge of resolved letters (and of nothing else), an event that failed its
retries applied after its cause is fixed through a real worker, the
``fanfare events dead-letters`` commands on a service's migrated database, and
the ``fanfare_dead_letters`` gauge on ``/metrics``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from click.testing import CliRunner
from sqlalchemy import insert
from sqlalchemy.orm import Session

from fanfare.apps import get_app_spec
from fanfare.cli import main
from services.common import migrations
from services.common.celery_app import send_event
from services.common.db import Database
from services.common.dead_letters import (
    DeadLetterNotFound,
    NotRetryable,
    count_dead_letters,
    delete_resolved_dead_letters,
    discard_dead_letter,
    event_to_send_again,
    get_dead_letter,
    list_dead_letters,
    redo_task,
    wait_until_applied,
)
from services.common.event_retention import purge_event_tables
from services.common.events import Event
from services.common.outbox import EventTables
from services.common.runtime import ServiceRuntime
from tests.support import probe_service
from tests.support.postgres import PostgresHarness
from tests.support.workers import wait_until

tables = probe_service.event_tables
TRACEBACK = (
    'Traceback (most recent call last):\n  File "x.py", line 1\nRuntimeError: gift shop down\n'
)


def park_event(db: Database, event: Event, *, tables: EventTables = tables) -> None:
    with db.transaction() as session:
        session.execute(
            insert(tables.dead_letters).values(
                kind="event",
                name=event.type,
                reference=event.id,
                payload=event.to_message(),
                error=TRACEBACK,
                attempts=4,
                created_at=datetime.now(UTC),
            )
        )


def park_task(db: Database, reference: str, *, tables: EventTables = tables) -> None:
    with db.transaction() as session:
        session.execute(
            insert(tables.dead_letters).values(
                kind="task",
                name="rewards.deliver",
                reference=reference,
                payload={"delivery_id": 7},
                error="SMTPServerDisconnected: gone",
                attempts=6,
                created_at=datetime.now(UTC),
            )
        )


def mark_applied(db: Database, event: Event, *, days_ago: float = 0) -> None:
    with db.transaction() as session:
        session.execute(
            insert(tables.processed).values(
                event_id=event.id,
                event_type=event.type,
                processed_at=datetime.now(UTC) - timedelta(days=days_ago),
            )
        )


def new_event(text: str = "hello") -> Event:
    return Event.new(producer="probe", type="probe.noted", payload={"text": text})


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    probe_service.metadata.create_all(database.engine)
    yield database
    database.dispose()


# --- the table, directly ------------------------------------------------------


def test_letters_are_listed_newest_first_with_their_error_and_kind(db: Database) -> None:
    # given an event letter, then a task letter
    event = new_event()
    park_event(db, event)
    park_task(db, "deliver:7")

    # when an operator lists them, and only the events
    letters = list_dead_letters(db, tables)
    events_only = list_dead_letters(db, tables, kind="event")

    # then the newest comes first, each with the exception as its summary
    assert [(letter.kind, letter.reference) for letter in letters] == [
        ("task", "deliver:7"),
        ("event", event.id),
    ]
    assert letters[1].error_summary == "RuntimeError: gift shop down"
    assert letters[1].payload == event.to_message()
    assert [letter.reference for letter in events_only] == [event.id]
    assert count_dead_letters(db, tables) == 2


def test_an_event_applied_since_is_resolved_and_no_longer_counted(db: Database) -> None:
    # given two dead-lettered events, one of them applied since
    applied, waiting = new_event("applied"), new_event("waiting")
    park_event(db, applied)
    park_event(db, waiting)
    mark_applied(db, applied)

    # when they are listed
    resolved = {letter.reference: letter.resolved for letter in list_dead_letters(db, tables)}

    # then only the applied one is resolved, and only the other one is waiting
    assert resolved == {applied.id: True, waiting.id: False}
    assert count_dead_letters(db, tables) == 1


def test_only_an_unresolved_event_letter_can_be_sent_again(db: Database) -> None:
    event, applied = new_event(), new_event()
    park_event(db, event)
    park_event(db, applied)
    mark_applied(db, applied)
    park_task(db, "deliver:7")
    by_reference = {letter.reference: letter.id for letter in list_dead_letters(db, tables)}

    # an event letter gives its event back, whole
    assert event_to_send_again(db, tables, by_reference[event.id]) == event
    # a task letter is redone, not sent as an event
    with pytest.raises(NotRetryable, match="it is redone, not sent again"):
        event_to_send_again(db, tables, by_reference["deliver:7"])
    # an event applied since has nothing left to send
    with pytest.raises(NotRetryable, match="applied since"):
        event_to_send_again(db, tables, by_reference[applied.id])
    # and an unknown id is named
    with pytest.raises(DeadLetterNotFound, match="no dead letter has id 999"):
        event_to_send_again(db, tables, 999)


def test_a_discarded_letter_is_gone_and_the_others_stay(db: Database) -> None:
    park_task(db, "deliver:7")
    park_task(db, "deliver:8")
    first, second = sorted(letter.id for letter in list_dead_letters(db, tables))

    discarded = discard_dead_letter(db, tables, first)

    assert discarded.reference == "deliver:7"
    assert [letter.id for letter in list_dead_letters(db, tables)] == [second]
    with pytest.raises(DeadLetterNotFound):
        get_dead_letter(db, tables, first)


def test_a_task_redo_puts_the_work_back_and_deletes_the_letter_in_one_transaction(
    db: Database,
) -> None:
    # given a parked task whose service knows how to put its work back
    park_task(db, "deliver:7")
    park_task(db, "deliver:8")
    first, second = sorted(letter.id for letter in list_dead_letters(db, tables))
    put_back: list[dict[str, Any]] = []

    def redo(session: Session, payload: dict[str, Any]) -> bool:
        put_back.append(payload)
        return True

    # when it is redone
    letter = redo_task(db, tables, {"rewards.deliver": redo}, first)

    # then its work was put back with the task's arguments, and only its letter went
    assert letter.reference == "deliver:7"
    assert put_back == [{"delivery_id": 7}]
    assert [row.id for row in list_dead_letters(db, tables)] == [second]
    with pytest.raises(DeadLetterNotFound):
        redo_task(db, tables, {"rewards.deliver": redo}, first)


def test_a_task_redo_with_nothing_to_put_back_keeps_the_letter(db: Database) -> None:
    # given a parked task whose work was done since
    park_task(db, "deliver:7")
    (letter,) = list_dead_letters(db, tables)

    def nothing_failed(session: Session, payload: dict[str, Any]) -> bool:
        return False

    # when it is redone, it is refused and its letter stays
    with pytest.raises(NotRetryable, match="no longer failed"):
        redo_task(db, tables, {"rewards.deliver": nothing_failed}, letter.id)
    assert [row.id for row in list_dead_letters(db, tables)] == [letter.id]
    # a task nobody can redo, and an event, are refused too
    with pytest.raises(NotRetryable, match="cannot redo from here"):
        redo_task(db, tables, {}, letter.id)
    event = new_event()
    park_event(db, event)
    event_letter = next(row for row in list_dead_letters(db, tables) if row.kind == "event")
    with pytest.raises(NotRetryable, match="it is sent again, not redone"):
        redo_task(db, tables, {"rewards.deliver": nothing_failed}, event_letter.id)


def test_the_purge_deletes_resolved_event_letters_and_keeps_every_other_letter(
    db: Database,
) -> None:
    # given a resolved event letter, an unresolved one and an old task letter
    applied, waiting = new_event("applied"), new_event("waiting")
    park_event(db, applied)
    park_event(db, waiting)
    mark_applied(db, applied, days_ago=1)
    park_task(db, "deliver:7")

    # when the retention purge runs
    report = purge_event_tables(
        db, tables, outbox_retention_days=7, processed_events_retention_days=30
    )

    # then only the resolved letter went, and it is counted
    assert report.resolved_dead_letters == 1
    assert {letter.reference for letter in list_dead_letters(db, tables)} == {
        waiting.id,
        "deliver:7",
    }
    assert delete_resolved_dead_letters(db, tables) == 0


# --- through a real worker ------------------------------------------------------


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_an_event_that_failed_its_retries_is_applied_once_after_its_cause_is_fixed(
    kind: str,
    tmp_path_factory: pytest.TempPathFactory,
    postgres: PostgresHarness,
    redis_server_url: str,
) -> None:
    workdir = tmp_path_factory.mktemp(f"dead-letters-{kind}")
    with probe_service.probe_running(
        kind,
        workdir,
        postgres,
        redis_server_url,
        redis_db=9 if kind == "sqlite" else 10,
        beat=False,
    ) as (runtime, worker):
        assert runtime.outbox is not None
        assert runtime.celery is not None
        assert runtime.event_tables is not None
        event_tables = runtime.event_tables
        # given an event its consumer cannot apply yet, parked after its retries
        event = Event.new(producer="probe", type="probe.needs_fix", payload={"text": "late"})
        send_event(runtime.celery, "probe", event)
        wait_until(
            lambda: count_dead_letters(runtime.db, event_tables) == 1,
            timeout=30,
            message=worker.log_tail(),
        )
        (letter,) = list_dead_letters(runtime.db, event_tables)

        # when it is sent again before the fix
        send_event(
            runtime.celery, "probe", event_to_send_again(runtime.db, event_tables, letter.id)
        )
        wait_until(
            lambda: (
                worker.log_text().count(f"event {event.id} (probe.needs_fix) dead-lettered") == 2
            ),
            timeout=30,
            message=worker.log_tail(),
        )

        # then it fails again and its letter stays, unresolved, one of a kind
        assert [(row.id, row.resolved) for row in list_dead_letters(runtime.db, event_tables)] == [
            (letter.id, False)
        ]
        assert not wait_until_applied(runtime.db, event_tables, event.id, timeout_seconds=0)

        # when the cause is fixed and it is sent again
        probe_service.fix(runtime, event.id)
        send_event(
            runtime.celery, "probe", event_to_send_again(runtime.db, event_tables, letter.id)
        )

        # then it is applied once, its letter resolved, and deleted
        assert wait_until_applied(runtime.db, event_tables, event.id, timeout_seconds=30)
        assert probe_service.count_notes(runtime, event.id) == 1
        assert get_dead_letter(runtime.db, event_tables, letter.id).resolved
        assert delete_resolved_dead_letters(runtime.db, event_tables) == 1
        assert list_dead_letters(runtime.db, event_tables) == []


# --- fanfare events dead-letters ---------------------------------------------------


@pytest.fixture
def rewards_db(database_url: str) -> Iterator[tuple[Database, str]]:
    """Rewards' migrated database (it has the common event tables), and its URL."""
    migrations.upgrade(get_app_spec("rewards").migrations_dir, database_url)
    database = Database(database_url)
    yield database, database_url
    database.dispose()


def run_dead_letters(*args: str, database_url: str, redis_url: str) -> Any:
    env = {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "FANFARE_ENV": "test"}
    return CliRunner().invoke(main, ["events", "dead-letters", *args], env=env)


def test_an_operator_lists_shows_and_discards_dead_letters(
    rewards_db: tuple[Database, str], redis_url: str
) -> None:
    db, url = rewards_db
    rewards_tables = _rewards_event_tables()
    event = Event.new(producer="referrals", type="referrals.conversion_approved", payload={"a": 1})
    park_event(db, event, tables=rewards_tables)
    park_task(db, "deliver:7", tables=rewards_tables)
    task_id, event_id = (
        letter.id for letter in list_dead_letters(db, rewards_tables)
    )  # newest first

    # the list names each letter with its error's last line
    listed = run_dead_letters("list", "--service", "rewards", database_url=url, redis_url=redis_url)
    assert listed.exit_code == 0, listed.output
    assert "rewards: 2 dead letter(s)" in listed.output
    assert f"#{event_id} " in listed.output
    assert "RuntimeError: gift shop down" in listed.output
    assert f"#{task_id} " in listed.output
    assert "SMTPServerDisconnected: gone" in listed.output

    # show prints the payload and the whole traceback
    shown = run_dead_letters(
        "show", str(event_id), "--service", "rewards", database_url=url, redis_url=redis_url
    )
    assert shown.exit_code == 0, shown.output
    assert json.dumps(event.id) in shown.output
    assert 'File "x.py", line 1' in shown.output
    # and when it was parked, as a UTC time with its offset on either database
    parked = next(line for line in shown.output.splitlines() if line.startswith("parked:"))
    parked_at = datetime.fromisoformat(parked.split()[1])
    assert parked_at.utcoffset() == timedelta(0), parked
    assert abs(datetime.now(UTC) - parked_at) < timedelta(minutes=5), parked

    # a task its service cannot redo is refused, saying what to do instead
    refused = run_dead_letters(
        "retry", str(task_id), "--service", "rewards", database_url=url, redis_url=redis_url
    )
    assert refused.exit_code == 1
    assert "which its service cannot redo from here: see its README" in refused.output

    # discard deletes the one named, and an unknown id is named back
    discarded = run_dead_letters(
        "discard", str(task_id), "--service", "rewards", database_url=url, redis_url=redis_url
    )
    assert discarded.exit_code == 0, discarded.output
    assert [letter.id for letter in list_dead_letters(db, rewards_tables)] == [event_id]
    missing = run_dead_letters(
        "discard", str(task_id), "--service", "rewards", database_url=url, redis_url=redis_url
    )
    assert missing.exit_code == 1
    assert f"no dead letter has id {task_id}" in missing.output


def test_retry_puts_the_event_on_its_services_queue_and_keeps_the_letter_until_applied(
    rewards_db: tuple[Database, str], redis_url: str
) -> None:
    # given a dead-lettered event in rewards, and no rewards worker running
    db, url = rewards_db
    rewards_tables = _rewards_event_tables()
    event = Event.new(producer="referrals", type="referrals.conversion_approved", payload={"a": 1})
    park_event(db, event, tables=rewards_tables)
    (letter,) = list_dead_letters(db, rewards_tables)

    # when an operator retries it, waiting a moment for it to be applied
    result = run_dead_letters(
        "retry",
        str(letter.id),
        "--service",
        "rewards",
        "--wait-seconds",
        "0.5",
        database_url=url,
        redis_url=redis_url,
    )

    # then the event is on rewards' queue, and with nothing to apply it the letter stays
    queued = redis.Redis.from_url(redis_url, decode_responses=True).lrange("rewards", 0, -1)
    assert len(queued) == 1
    assert event.id in queued[0]
    assert result.exit_code == 1
    assert "was not applied within 0.5 s. The dead letter stays" in result.output
    assert [row.id for row in list_dead_letters(db, rewards_tables)] == [letter.id]


def test_dead_letters_list_needs_a_service_when_database_url_names_one(
    rewards_db: tuple[Database, str], redis_url: str
) -> None:
    _, url = rewards_db
    result = run_dead_letters("list", database_url=url, redis_url=redis_url)
    assert result.exit_code == 2
    assert "--service rewards" in result.output


def _rewards_event_tables() -> EventTables:
    from services.rewards.models import event_tables

    return event_tables


# --- /metrics ---------------------------------------------------------------------


def test_metrics_show_how_many_dead_letters_wait(tmp_path: Path, redis_url: str) -> None:
    # given a service with two letters waiting and one resolved
    app = probe_service.create_app(
        probe_service.ProbeSettings(
            environment="test",
            database_url=f"sqlite:///{tmp_path / 'probe.db'}",
            redis_url=redis_url,
        )
    )
    runtime: ServiceRuntime = app.extensions["fanfare"]
    probe_service.metadata.create_all(runtime.db.engine)
    try:
        applied = new_event("applied")
        park_event(runtime.db, applied)
        mark_applied(runtime.db, applied)
        park_event(runtime.db, new_event("waiting"))
        park_task(runtime.db, f"deliver:{uuid.uuid4()}")

        # when Prometheus scrapes it
        body = app.test_client().get("/metrics").get_data(as_text=True)

        # then the gauge counts the two waiting for someone
        assert 'fanfare_dead_letters{service="probe"} 2.0' in body
        assert 'fanfare_outbox_backlog{service="probe"} 0.0' in body
    finally:
        runtime.db.dispose()

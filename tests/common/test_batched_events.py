"""Events delivered in batches: one transaction per batch, a savepoint per event.

Runs once on SQLite and once on PostgreSQL, with a real Redis and a real Celery
worker consuming the probe service's queue. The relay runs in this process (the
worker has no beat), the way the relay task runs it, with the delivery batch
size each test chooses (the task reads EVENT_DELIVERY_BATCH_SIZE): the events
of one relay batch go out as ``consume_events`` tasks of up to N events, and
with N = 1 as one ``consume_event`` task per event, as before batching.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.common.celery_app import batch_task_id, send_event, send_events
from services.common.db import Database
from services.common.events import Event
from services.common.outbox import BatchOutcome, EventConsumer, in_lock_order
from services.common.runtime import ServiceRuntime
from tests.support import probe_service
from tests.support.postgres import PostgresHarness
from tests.support.workers import CeleryWorker, wait_until

MAX_RETRIES = probe_service.PROBE_MAX_RETRIES
BATCH_SIZE = 5


@dataclass
class BatchStack:
    database_url: str
    redis_url: str
    runtime: ServiceRuntime
    worker: CeleryWorker

    def publish(self, *events: tuple[str, str]) -> list[Event]:
        """Write events of (type, text) in one transaction, as one change would."""
        assert self.runtime.outbox is not None
        with self.runtime.db.transaction() as session:
            return [
                self.runtime.outbox.add(session, event_type, {"text": text})
                for event_type, text in events
            ]

    def relay(self, *, delivery_batch_size: int) -> int:
        """Relay the outbox as the relay task does, with the given delivery batch size."""
        celery = self.runtime.celery
        assert celery is not None
        assert self.runtime.outbox is not None
        return self.runtime.outbox.relay_batch(
            self.runtime.db,
            lambda service, event: send_event(celery, service, event),
            send_batch=lambda service, events: send_events(celery, service, events),
            delivery_batch_size=delivery_batch_size,
        ).sent

    def notes_for(self, event: Event) -> int:
        return probe_service.count_notes(self.runtime, event.id)

    def processed(self, event: Event) -> bool:
        assert self.runtime.outbox is not None
        table = self.runtime.outbox.tables.processed
        with self.runtime.db.transaction() as session:
            return bool(session.scalar(select(func.count()).where(table.c.event_id == event.id)))

    def dead_letters(self, event: Event) -> list[dict[str, object]]:
        assert self.runtime.outbox is not None
        table = self.runtime.outbox.tables.dead_letters
        with self.runtime.db.transaction() as session:
            rows = session.execute(select(table).where(table.c.reference == event.id))
            return [dict(row._mapping) for row in rows]

    def all_noted_once(self, events: list[Event]) -> bool:
        return all(self.notes_for(event) == 1 for event in events)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def stack(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    postgres: PostgresHarness,
    redis_server_url: str,
) -> Iterator[BatchStack]:
    workdir = tmp_path_factory.mktemp(f"batched-{request.param}")
    # Redis databases of their own, apart from test_events' probe (1 and 2).
    with probe_service.probe_running(
        request.param,
        workdir,
        postgres,
        redis_server_url,
        redis_db=3 if request.param == "sqlite" else 4,
        beat=False,
    ) as (runtime, worker):
        yield BatchStack(runtime.db.url, runtime.settings.redis_url, runtime, worker)


def test_a_batch_of_events_is_applied_once_each_in_tasks_of_the_batch_size(
    stack: BatchStack,
) -> None:
    # given twelve events written by one change
    events = stack.publish(*[("probe.noted", f"note {n}") for n in range(12)])

    # when the relay sends them in batches of five
    sent = stack.relay(delivery_batch_size=BATCH_SIZE)

    # then each event's effect is there exactly once
    assert sent == 12
    wait_until(lambda: stack.all_noted_once(events), timeout=30, message=stack.worker.log_tail())
    assert all(stack.processed(event) for event in events)
    # and they travelled as tasks of 5, 5 and 2 events, no event alone
    log = stack.worker.log_text()
    for group in (events[0:5], events[5:10], events[10:12]):
        assert batch_task_id("probe", group) in log
    assert not any(f"{event.id}:probe" in log for event in events)


def test_a_poison_event_in_a_batch_rolls_back_alone_and_is_dead_lettered(
    stack: BatchStack,
) -> None:
    # given a batch with a poison event in the middle
    before = stack.publish(("probe.noted", "first"), ("probe.noted", "second"))
    (poison,) = stack.publish(("probe.poison", "boom"))
    after = stack.publish(("probe.noted", "third"), ("probe.noted", "fourth"))

    # when the relay sends the five of them as one batch
    assert stack.relay(delivery_batch_size=BATCH_SIZE) == 5

    # then its neighbours are applied once each
    wait_until(
        lambda: stack.all_noted_once([*before, *after]),
        timeout=30,
        message=stack.worker.log_tail(),
    )
    assert batch_task_id("probe", [*before, poison, *after]) in stack.worker.log_text()
    # and the poison event, retried on its own, ends in dead_letters unapplied
    wait_until(lambda: stack.dead_letters(poison), timeout=30, message=stack.worker.log_tail())
    (letter,) = stack.dead_letters(poison)
    assert letter["kind"] == "event"
    assert letter["name"] == "probe.poison"
    assert letter["attempts"] == MAX_RETRIES + 1
    assert "cannot be applied" in str(letter["error"])
    assert not stack.processed(poison)
    assert all(stack.notes_for(event) == 1 for event in [*before, *after])
    # and only the poison event was sent on alone: its neighbours committed in the batch
    log = stack.worker.log_text()
    assert f"probe.consume_event[{poison.id}:probe]" in log
    assert not any(f"{event.id}:probe" in log for event in [*before, *after])


def test_the_same_batch_delivered_twice_changes_nothing_the_second_time(
    stack: BatchStack,
) -> None:
    # given a batch the worker has applied
    events = [
        Event.new(type="probe.noted", producer="probe", payload={"text": f"twice {n}"})
        for n in range(4)
    ]
    celery = stack.runtime.celery
    assert celery is not None
    send_events(celery, "probe", events)
    wait_until(lambda: stack.all_noted_once(events), timeout=30, message=stack.worker.log_tail())

    # when the broker delivers the same batch again (as after a worker was lost)
    send_events(celery, "probe", events)
    wait_until(
        lambda: all(
            f"event {event.id} (probe.noted) already applied" in stack.worker.log_text()
            for event in events
        ),
        timeout=30,
        message=stack.worker.log_tail(),
    )

    # then every effect is still there exactly once
    assert all(stack.notes_for(event) == 1 for event in events)


def test_a_batch_partly_applied_before_is_completed_without_repeats(stack: BatchStack) -> None:
    # given two events applied alone, then a batch holding them and two new ones
    first, second, third, fourth = (
        Event.new(type="probe.noted", producer="probe", payload={"text": f"part {n}"})
        for n in range(4)
    )
    celery = stack.runtime.celery
    assert celery is not None
    send_events(celery, "probe", [first, second])
    wait_until(
        lambda: stack.all_noted_once([first, second]),
        timeout=30,
        message=stack.worker.log_tail(),
    )

    # when the larger batch arrives
    send_events(celery, "probe", [first, third, second, fourth])

    # then the new events are applied and the old ones not again
    wait_until(
        lambda: stack.all_noted_once([third, fourth]),
        timeout=30,
        message=stack.worker.log_tail(),
    )
    assert stack.notes_for(first) == 1
    assert stack.notes_for(second) == 1


def test_a_delivery_batch_size_of_one_sends_each_event_alone_as_before(stack: BatchStack) -> None:
    # given three events written by one change
    events = stack.publish(*[("probe.noted", f"alone {n}") for n in range(3)])

    # when the relay runs with EVENT_DELIVERY_BATCH_SIZE=1
    assert stack.relay(delivery_batch_size=1) == 3

    # then each is applied once, each by a consume_event task of its own
    wait_until(lambda: stack.all_noted_once(events), timeout=30, message=stack.worker.log_tail())
    log = stack.worker.log_text()
    assert all(f"probe.consume_event[{event.id}:probe]" in log for event in events)


def test_what_a_failed_event_left_in_the_session_is_dropped_with_its_savepoint(
    stack: BatchStack,
) -> None:
    # given handlers that queue an after-commit callback in session.info, one then failing
    consumer = EventConsumer(probe_service.event_tables)
    ran: list[str] = []

    def remember_after_commit(session: Session, event: Event) -> None:
        session.info.setdefault("callbacks", []).append(event.payload["text"])
        if event.payload["text"] == "fails":
            raise RuntimeError("refused after queueing its callback")

    consumer.on("probe.noted")(remember_after_commit)
    events = [
        Event.new(type="probe.noted", producer="probe", payload={"text": text})
        for text in ("kept 1", "fails", "kept 2")
    ]

    # when the batch is applied in one transaction that runs the callbacks after commit
    db = Database(stack.database_url)
    sqlalchemy_event.listen(
        db.sessionmaker,
        "after_commit",
        lambda committed: ran.extend(committed.info.pop("callbacks", [])),
    )
    try:
        outcome = consumer.apply_batch(db, events)
    finally:
        db.dispose()

    # then the failed event's callback never runs, its neighbours' do
    assert [event.payload["text"] for event, _ in outcome.failed] == ["fails"]
    assert [event.payload["text"] for event in outcome.applied] == ["kept 1", "kept 2"]
    assert ran == ["kept 1", "kept 2"]


def test_a_batch_is_applied_in_fan_order_between_events_naming_no_fan() -> None:
    # given a batch of fans' shares around a pack event that names no fan
    def share(fan_id: str, text: str) -> Event:
        return Event.new(
            type="referrals.share_recorded",
            producer="referrals",
            payload={"fan_id": fan_id, "n": text},
        )

    pack = Event.new(type="content.pack_published", producer="content", payload={"pack_id": "p"})
    batch = [share("fan-c", "1"), share("fan-a", "2"), pack]
    batch += [share("fan-b", "3"), share("fan-a", "4")]

    # when the consumer orders it for applying
    ordered = in_lock_order(batch)

    # then each run of fans' events is in fan order, one fan's events keep their order,
    # and the pack event stays between the same neighbours
    assert [event.payload.get("n", "pack") for event in ordered] == ["2", "1", "pack", "4", "3"]


def noting_consumer() -> EventConsumer:
    """A consumer with the probe's note handler, to apply batches in this process."""
    consumer = EventConsumer(probe_service.event_tables)

    def add_note(session: Session, event: Event) -> None:
        session.execute(
            probe_service.notes.insert().values(event_id=event.id, text=event.payload["text"])
        )

    consumer.on("probe.noted")(add_note)
    return consumer


def test_a_batch_where_nothing_fails_is_claimed_in_one_statement_without_savepoints(
    stack: BatchStack,
) -> None:
    # given a batch of eight events, two of them applied before
    events = [
        Event.new(type="probe.noted", producer="probe", payload={"text": f"at once {n}"})
        for n in range(8)
    ]
    consumer = noting_consumer()
    db = Database(stack.database_url)
    statements: list[str] = []
    try:
        consumer.apply_batch(db, events[:2])
        sqlalchemy_event.listen(
            db.engine, "before_cursor_execute", lambda *args: statements.append(args[2])
        )

        # when the whole batch is applied
        outcome = consumer.apply_batch(db, events)
    finally:
        db.dispose()

    # then the six new events are applied once each and the two old ones skipped
    assert outcome.applied == events[2:]
    assert outcome.duplicates == events[:2]
    assert all(stack.notes_for(event) == 1 for event in events)
    # and the batch cost one claim statement, one write per new event, and no savepoint
    claims = [sql for sql in statements if "INSERT INTO processed_events" in sql]
    assert len(claims) == 1
    assert len([sql for sql in statements if "INSERT INTO notes" in sql]) == 6
    assert not [sql for sql in statements if "SAVEPOINT" in sql.upper()]


def apply_batch_once(
    stack: BatchStack, consumer: EventConsumer, events: list[Event]
) -> BatchOutcome:
    """Apply ``events`` as one batch on a database connection of its own."""
    db = Database(stack.database_url)
    try:
        return consumer.apply_batch(db, events)
    finally:
        db.dispose()


def test_an_event_twice_in_one_batch_is_applied_once(stack: BatchStack) -> None:
    # given a batch that carries the same event twice
    once, other = (
        Event.new(type="probe.noted", producer="probe", payload={"text": f"twice in {n}"})
        for n in range(2)
    )
    consumer = noting_consumer()

    # when it is applied
    outcome = apply_batch_once(stack, consumer, [once, other, once])

    # then each event's effect is there once, and the repeat counts as a duplicate
    assert outcome.applied == [once, other]
    assert outcome.duplicates == [once]
    assert stack.notes_for(once) == 1
    assert stack.notes_for(other) == 1


def test_a_batch_with_a_failing_event_falls_back_to_one_savepoint_per_event(
    stack: BatchStack,
) -> None:
    # given a batch with a poison event between two good ones
    consumer = noting_consumer()

    def refuse(_session: Session, event: Event) -> None:
        raise RuntimeError(f"poison event {event.id} cannot be applied")

    consumer.on("probe.poison")(refuse)
    good_before, poison, good_after = (
        Event.new(type=kind, producer="probe", payload={"text": f"fallback {n}"})
        for n, kind in enumerate(("probe.noted", "probe.poison", "probe.noted"))
    )

    # when it is applied
    outcome = apply_batch_once(stack, consumer, [good_before, poison, good_after])

    # then the good events are applied once each and only the poison one is reported failed
    assert outcome.applied == [good_before, good_after]
    assert [event for event, _ in outcome.failed] == [poison]
    assert stack.notes_for(good_before) == 1
    assert stack.notes_for(good_after) == 1
    assert not stack.processed(poison)


def test_a_batch_preparer_sees_only_the_events_not_applied_before(stack: BatchStack) -> None:
    # given a consumer that records what its batch preparer is shown, and one event applied
    consumer = noting_consumer()
    shown: list[list[Event]] = []
    consumer.before_batch(lambda _session, events: shown.append(list(events)))
    old, new, newer = (
        Event.new(type="probe.noted", producer="probe", payload={"text": f"prepared {n}"})
        for n in range(3)
    )
    db = Database(stack.database_url)
    try:
        consumer.apply(db, old)

        # when a batch holding it, two new events and a repeat is applied
        outcome = consumer.apply_batch(db, [old, new, newer, new])
    finally:
        db.dispose()

    # then the preparer saw the two new events once each, and they were applied
    assert shown == [[new, newer]]
    assert outcome.applied == [new, newer]
    assert stack.notes_for(new) == 1
    assert stack.notes_for(newer) == 1

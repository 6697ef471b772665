"""Domain events through the outbox, a real Redis and a real Celery worker.

Runs once on SQLite and once on PostgreSQL: a committed change's event arrives
exactly once, a rolled-back one never leaves, a duplicate delivery changes
nothing, and a poison event is parked in ``dead_letters`` after its retries.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests
from sqlalchemy import func, select

from fanfare.embedded import free_port
from services.common.celery_app import send_event
from services.common.events import Event
from services.common.log import current_request_id
from services.common.outbox import Outbox
from services.common.runtime import ServiceRuntime
from tests.support import probe_service
from tests.support.postgres import PostgresHarness
from tests.support.workers import CeleryWorker, wait_until

MAX_RETRIES = probe_service.PROBE_MAX_RETRIES


@dataclass
class ProbeStack:
    runtime: ServiceRuntime
    outbox: Outbox
    worker: CeleryWorker

    def publish(self, event_type: str, payload: dict[str, str]) -> Event:
        with self.runtime.db.transaction() as session:
            return self.outbox.add(session, event_type, payload)

    def notes_for(self, event: Event) -> int:
        return probe_service.count_notes(self.runtime, event.id)

    def processed(self, event: Event) -> bool:
        table = self.outbox.tables.processed
        with self.runtime.db.transaction() as session:
            found = session.scalar(select(func.count()).where(table.c.event_id == event.id))
        return bool(found)

    def dead_letters(self, event: Event) -> list[dict[str, object]]:
        table = self.outbox.tables.dead_letters
        with self.runtime.db.transaction() as session:
            rows = session.execute(select(table).where(table.c.reference == event.id))
            return [dict(row._mapping) for row in rows]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def probe(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    postgres: PostgresHarness,
    redis_server_url: str,
) -> Iterator[ProbeStack]:
    workdir = tmp_path_factory.mktemp(f"probe-{request.param}")
    metrics_dir = workdir / "metrics"
    metrics_dir.mkdir()
    with probe_service.probe_running(
        request.param,
        workdir,
        postgres,
        redis_server_url,
        redis_db=1 if request.param == "sqlite" else 2,
        beat=True,
        WORKER_METRICS_PORT=str(free_port()),
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
    ) as (runtime, worker):
        assert runtime.outbox is not None
        yield ProbeStack(runtime=runtime, outbox=runtime.outbox, worker=worker)


def test_a_committed_event_reaches_its_consumer_once(probe: ProbeStack) -> None:
    # given a change committed together with its event
    event = probe.publish("probe.noted", {"text": "hello"})

    # when the periodic relay and the worker have done their work
    wait_until(lambda: probe.notes_for(event) == 1, timeout=20, message=probe.worker.log_tail())

    # then the consumer applied it, recorded it, and the outbox marked it sent
    assert probe.processed(event)
    with probe.runtime.db.transaction() as session:
        assert probe.outbox.backlog(session) == 0


def test_an_event_written_in_a_rolled_back_transaction_is_never_sent(probe: ProbeStack) -> None:
    # given a transaction that writes an event and then fails
    rolled_back: list[Event] = []
    with (  # noqa: PT012 - the block is the transaction
        pytest.raises(RuntimeError, match="change failed"),
        probe.runtime.db.transaction() as session,
    ):
        rolled_back.append(probe.outbox.add(session, "probe.noted", {"text": "ghost"}))
        raise RuntimeError("change failed")

    # when a later committed event has gone all the way through
    marker = probe.publish("probe.noted", {"text": "marker"})
    wait_until(lambda: probe.notes_for(marker) == 1, timeout=20, message=probe.worker.log_tail())

    # then the rolled-back event left no row and was never applied
    table = probe.outbox.tables.outbox
    with probe.runtime.db.transaction() as session:
        rows = session.scalar(select(func.count()).where(table.c.event_id == rolled_back[0].id))
    assert rows == 0
    assert probe.notes_for(rolled_back[0]) == 0
    assert not probe.processed(rolled_back[0])


def test_an_event_delivered_twice_is_applied_once(probe: ProbeStack) -> None:
    # given an event the consumer has applied
    event = probe.publish("probe.noted", {"text": "once"})
    wait_until(lambda: probe.notes_for(event) == 1, timeout=20, message=probe.worker.log_tail())

    # when the broker delivers it twice more (as after a lost acknowledgement)
    celery = probe.runtime.celery
    assert celery is not None
    send_event(celery, "probe", event)
    send_event(celery, "probe", event)
    wait_until(
        lambda: (
            probe.worker.log_text().count(f"event {event.id} (probe.noted) already applied") >= 2
        ),
        timeout=20,
        message=probe.worker.log_tail(),
    )

    # then its effect is there exactly once
    assert probe.notes_for(event) == 1


def test_a_fresh_event_delivered_twice_at_once_is_applied_once(probe: ProbeStack) -> None:
    # given an event sent straight to the queue twice, to two worker processes
    event = Event.new(type="probe.noted", producer="probe", payload={"text": "racing"})
    celery = probe.runtime.celery
    assert celery is not None
    send_event(celery, "probe", event)
    send_event(celery, "probe", event)

    # when both deliveries have been handled
    wait_until(
        lambda: f"event {event.id} (probe.noted) already applied" in probe.worker.log_text(),
        timeout=20,
        message=probe.worker.log_tail(),
    )

    # then one of them applied it and the other changed nothing
    assert probe.notes_for(event) == 1


def test_a_poison_event_ends_in_the_dead_letter_table_after_its_retries(probe: ProbeStack) -> None:
    # given an event whose handler always fails
    event = probe.publish("probe.poison", {"text": "boom"})

    # when the worker has tried it as often as allowed
    wait_until(lambda: probe.dead_letters(event), timeout=30, message=probe.worker.log_tail())

    # then it is parked with its error and attempt count, and not marked applied
    (letter,) = probe.dead_letters(event)
    assert letter["kind"] == "event"
    assert letter["name"] == "probe.poison"
    assert letter["attempts"] == MAX_RETRIES + 1
    assert "cannot be applied" in str(letter["error"])
    assert not probe.processed(event)

    # and the worker goes on with the next event
    after = probe.publish("probe.noted", {"text": "after the poison"})
    wait_until(lambda: probe.notes_for(after) == 1, timeout=20, message=probe.worker.log_tail())


def test_the_request_id_travels_with_the_event_to_the_worker(probe: ProbeStack) -> None:
    # given an event written while serving request "req-probe-42"
    token = current_request_id.set("req-probe-42")
    try:
        event = probe.publish("probe.noted", {"text": "traced"})
    finally:
        current_request_id.reset(token)

    # when the worker applies it
    wait_until(lambda: probe.notes_for(event) == 1, timeout=20, message=probe.worker.log_tail())

    # then the worker's log line for it carries the same request id
    wait_until(
        lambda: any(
            event.id in line and '"request_id": "req-probe-42"' in line
            for line in probe.worker.log_text().splitlines()
        ),
        timeout=5,
        message=probe.worker.log_tail(),
    )


def test_the_worker_serves_its_task_outcomes_to_prometheus(probe: ProbeStack) -> None:
    # given a worker that has relayed and applied events
    event = probe.publish("probe.noted", {"text": "counted"})
    wait_until(lambda: probe.notes_for(event) == 1, timeout=20, message=probe.worker.log_tail())
    port = probe.worker.env["WORKER_METRICS_PORT"]

    # when Prometheus scrapes the worker
    def scrape() -> str:
        return requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text

    # then it sees the outcomes of the pool processes' tasks, the backlog and the dead letters
    wait_until(
        lambda: 'outcome="success",service="probe",task="probe.consume_event"' in scrape(),
        timeout=10,
    )
    text = scrape()
    assert 'task="probe.relay_outbox"' in text
    assert 'fanfare_outbox_backlog{service="probe"}' in text
    assert 'fanfare_dead_letters{service="probe"}' in text

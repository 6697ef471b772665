"""Delivery receipts: an event the broker loses after taking it is sent again, once.

The broker losing a message is simulated by a relay whose ``send`` drops it:
the outbox marks it sent, as it would after kombu's Redis transport popped
it for a worker that then died. Runs once on SQLite and once on PostgreSQL,
with a real Redis and a real Celery worker consuming the probe's queue; the
relay task runs in that worker when a test sends it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis
from sqlalchemy import select

from services.common.celery_app import send_event, send_events
from services.common.db import Database
from services.common.delivery_receipts import DeliveryReceipts, awaiting_key
from services.common.events import Event
from services.common.outbox import Outbox
from services.common.runtime import ServiceRuntime
from tests.support import probe_service
from tests.support.postgres import PostgresHarness
from tests.support.workers import CeleryWorker, wait_until

GRACE_SECONDS = 1.0


def dropped(_service: str, _event: Event) -> None:
    """A send the broker took and then lost."""


@dataclass
class ReceiptStack:
    runtime: ServiceRuntime
    outbox: Outbox
    receipts: DeliveryReceipts
    worker: CeleryWorker

    def publish(self, event_type: str, text: str) -> Event:
        with self.runtime.db.transaction() as session:
            return self.outbox.add(session, event_type, {"text": text})

    def relay(self, send: Any = None) -> int:
        celery = self.runtime.celery
        assert celery is not None
        return self.outbox.relay_batch(
            self.runtime.db,
            send or (lambda service, event: send_event(celery, service, event)),
            send_batch=lambda service, events: send_events(celery, service, events),
            delivery_batch_size=10,
            receipts=self.receipts,
        ).sent

    def run_relay_task(self) -> None:
        """The worker's relay task, once, as beat would start it; returns when it is done."""
        celery = self.runtime.celery
        assert celery is not None
        done_before = self.relay_tasks_done()
        celery.send_task("probe.relay_outbox", queue="probe")
        wait_until(
            lambda: self.relay_tasks_done() > done_before,
            timeout=20,
            message=self.worker.log_tail(),
        )

    def relay_tasks_done(self) -> int:
        log = self.worker.log_text()
        return sum(
            1 for line in log.splitlines() if "probe.relay_outbox" in line and "succeeded" in line
        )

    def awaiting(self, event: Event) -> bool:
        score = self.receipts.client.zscore(awaiting_key("probe"), f"probe|{event.id}")
        return score is not None

    def notes_for(self, event: Event) -> int:
        return probe_service.count_notes(self.runtime, event.id)

    def outbox_row(self, event: Event) -> dict[str, Any]:
        table = self.outbox.tables.outbox
        with self.runtime.db.transaction() as session:
            row = session.execute(select(table).where(table.c.event_id == event.id)).one()
            return dict(row._mapping)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def stack(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    postgres: PostgresHarness,
    redis_server_url: str,
) -> Iterator[ReceiptStack]:
    workdir = tmp_path_factory.mktemp(f"receipts-{request.param}")
    # Redis databases of their own, apart from the other probe tests' (1 to 4).
    with probe_service.probe_running(
        request.param,
        workdir,
        postgres,
        redis_server_url,
        redis_db=5 if request.param == "sqlite" else 6,
        beat=False,
        EVENT_CONFIRM_GRACE_SECONDS=str(GRACE_SECONDS),
    ) as (runtime, worker):
        assert runtime.outbox is not None
        receipts = DeliveryReceipts(
            runtime.redis, grace_seconds=GRACE_SECONDS, backlog_threshold=100
        )
        yield ReceiptStack(runtime, runtime.outbox, receipts, worker)


def test_an_event_the_broker_lost_after_taking_it_is_sent_again_and_applied_once(
    stack: ReceiptStack,
) -> None:
    # given an event the relay handed to the broker, which lost it
    event = stack.publish("probe.noted", "lost in transit")
    assert stack.relay(send=dropped) == 1
    assert stack.outbox_row(event)["sent_at"] is not None
    assert stack.awaiting(event)

    # when the grace period has passed and the relay task runs
    time.sleep(GRACE_SECONDS + 0.2)
    stack.run_relay_task()

    # then the event was sent again and applied exactly once, and is no longer awaited
    wait_until(lambda: stack.notes_for(event) == 1, timeout=20, message=stack.worker.log_tail())
    wait_until(lambda: not stack.awaiting(event), timeout=10, message="never confirmed")
    assert stack.outbox_row(event)["attempts"] == 2
    stack.run_relay_task()
    assert stack.notes_for(event) == 1


def test_an_applied_event_is_confirmed_and_never_sent_again(stack: ReceiptStack) -> None:
    # given an event the broker delivered and the consumer applied
    event = stack.publish("probe.noted", "delivered")
    assert stack.relay() == 1
    wait_until(lambda: stack.notes_for(event) == 1, timeout=20, message=stack.worker.log_tail())

    # then its receipt arrives
    wait_until(lambda: not stack.awaiting(event), timeout=10, message="never confirmed")

    # and when the grace period has passed and the relay task runs, nothing is sent again
    time.sleep(GRACE_SECONDS + 0.2)
    stack.run_relay_task()
    assert stack.outbox_row(event)["attempts"] == 1
    assert stack.notes_for(event) == 1


def test_a_dead_lettered_event_is_confirmed_and_not_sent_again(stack: ReceiptStack) -> None:
    # given an event that fails every time
    poison = stack.publish("probe.poison", "boom")
    assert stack.relay() == 1

    # when it has been parked in dead_letters after its retries
    dead_letters = stack.outbox.tables.dead_letters

    def parked() -> bool:
        with stack.runtime.db.transaction() as session:
            found = session.execute(
                select(dead_letters.c.id).where(dead_letters.c.reference == poison.id)
            ).first()
            return found is not None

    wait_until(parked, timeout=30, message=stack.worker.log_tail())

    # then its producer stops waiting for it: parked is handled, not lost
    wait_until(lambda: not stack.awaiting(poison), timeout=10, message="never confirmed")
    time.sleep(GRACE_SECONDS + 0.2)
    stack.run_relay_task()
    assert stack.outbox_row(poison)["attempts"] == 1


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_overdue_events_of_a_consumer_with_a_backlog_wait_until_it_has_caught_up(
    database_url: str, redis_server_url: str
) -> None:
    # given an event for a service nobody consumes here, sent and lost
    db = Database(database_url)
    probe_service.metadata.create_all(db.engine)
    client = redis.Redis.from_url(redis_server_url.rsplit("/", 1)[0] + "/7")
    client.flushdb()
    outbox = Outbox(probe_service.event_tables, producer="probe", routes={"probe.*": ("far",)})
    receipts = DeliveryReceipts(client, grace_seconds=0.3, backlog_threshold=2)
    with db.transaction() as session:
        event = outbox.add(session, "probe.noted", {"text": "queued behind others"})
    outbox.relay_batch(db, dropped, receipts=receipts)
    # and that service's queue holds more than the backlog threshold
    client.lpush("far", b"m1", b"m2", b"m3")
    time.sleep(0.4)

    # when the relay looks for overdue events, nothing is sent again yet
    assert outbox.resend_overdue(db, receipts, limit=100) == 0

    # and once the queue has drained, the event is marked unsent and sent again once
    client.delete("far")
    assert outbox.resend_overdue(db, receipts, limit=100) == 1
    resent: list[tuple[str, str]] = []
    outbox.relay_batch(db, lambda service, e: resent.append((service, e.id)), receipts=receipts)
    assert resent == [("far", event.id)]
    assert client.zscore(awaiting_key("probe"), f"far|{event.id}") is not None
    db.dispose()

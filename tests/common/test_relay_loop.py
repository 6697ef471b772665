"""The relay process's loop (services/common/relay_loop.py) on a real Redis and real databases.

Events written reach their consumer's queue within a few poll intervals, an
outage of the broker loses nothing and is logged once, a stop ends the loop
at once, and two loops on PostgreSQL never send one event twice.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from sqlalchemy import text

from fanfare.embedded import EmbeddedRedis
from services.common.relay_loop import OutboxRelayLoop
from services.common.runtime import ServiceRuntime
from tests.support import probe_service
from tests.support.workers import wait_until

POLL_SECONDS = 0.05
QUEUE = "probe"  # the probe's events go to its own queue (probe_service.PROBE_ROUTES)


def probe_app(database_url: str, redis_url: str, **overrides: Any) -> Flask:
    settings = probe_service.ProbeSettings(
        environment="test",
        database_url=database_url,
        redis_url=redis_url,
        outbox_relay_poll_seconds=POLL_SECONDS,
        **overrides,
    )
    app = probe_service.create_app(settings)
    probe_service.metadata.create_all(app.extensions["fanfare"].db.engine)
    return app


def runtime_of(app: Flask) -> ServiceRuntime:
    runtime: ServiceRuntime = app.extensions["fanfare"]
    return runtime


@contextmanager
def relay_running(app: Flask, **options: Any) -> Iterator[tuple[OutboxRelayLoop, threading.Thread]]:
    """The app's relay loop in a thread; stopped (and checked stopped) afterwards.

    Without a worker nothing takes the tasks off the queue, so a loop holding
    passes back while a task waits (OUTBOX_RELAY_HOLD_SECONDS) would add its
    hold to every event after the first: the hold is off unless asked for
    (tests/common/test_relay_hold.py, and the real worker's test below).
    """
    options.setdefault("hold_seconds", 0.0)
    loop = OutboxRelayLoop(runtime_of(app), app.extensions["celery"], **options)
    thread = threading.Thread(target=loop.run, name=f"relay-{id(loop)}", daemon=True)
    thread.start()
    try:
        yield loop, thread
    finally:
        loop.stop()
        thread.join(timeout=30)
        assert not thread.is_alive(), "the relay loop did not stop"


def publish(app: Flask, count: int = 1, text: str = "hello") -> list[str]:
    runtime = runtime_of(app)
    assert runtime.outbox is not None
    with runtime.db.transaction() as session:
        events = runtime.outbox.add_many(
            session, "probe.noted", [{"text": f"{text} {n}"} for n in range(count)]
        )
    return [event.id for event in events]


def backlog(app: Flask) -> int:
    return runtime_of(app).count_backlog()


def queued_event_ids(client: redis.Redis) -> list[str]:
    """The id of every event in every task message on the probe's queue (a batch: each)."""
    ids: list[str] = []
    for raw in client.lrange(QUEUE, 0, -1):
        envelope = json.loads(raw)
        args, _kwargs, _embed = json.loads(base64.b64decode(envelope["body"]))
        (argument,) = args
        messages = argument if isinstance(argument, list) else [argument]
        ids.extend(str(message["id"]) for message in messages)
    return ids


class RecordedLogs(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def warnings(self) -> list[str]:
        return [r.getMessage() for r in self.records if r.levelno >= logging.WARNING]


@pytest.fixture
def recorded_logs() -> Iterator[RecordedLogs]:
    handler = RecordedLogs()
    loggers = [logging.getLogger(name) for name in ("services.common", "celery", "kombu")]
    for logger in loggers:
        logger.addHandler(handler)
    yield handler
    for logger in loggers:
        logger.removeHandler(handler)


def test_an_event_written_is_on_its_consumers_queue_within_a_few_poll_intervals(
    database_url: str, redis_url: str
) -> None:
    # given a service whose relay loop polls every 50 ms (beat, every 1 s, is not running)
    app = probe_app(database_url, redis_url)
    client = redis.Redis.from_url(redis_url)
    with relay_running(app):
        warm_up = publish(app, text="warm-up")
        wait_until(lambda: queued_event_ids(client) == warm_up, timeout=10, interval=0.005)

        # when a change and its event are committed
        started = time.monotonic()
        (event_id,) = publish(app)
        wait_until(lambda: event_id in queued_event_ids(client), timeout=10, interval=0.005)
        took = time.monotonic() - started

    # then its task is on the consumer's queue well within a second, once, and marked sent
    assert took < 10 * POLL_SECONDS, f"{took * 1000:.0f} ms"
    assert Counter(queued_event_ids(client)) == {warm_up[0]: 1, event_id: 1}
    assert backlog(app) == 0
    runtime_of(app).db.dispose()


def test_events_relayed_by_the_loop_are_applied_once_by_a_real_worker_without_beat(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    # given the probe's worker running without beat, so only the relay loop sends events
    # (with its default hold: a pass waits while a task waits on the queue)
    runtime, worker = probe_service.start_probe(
        database_url,
        redis_url,
        env=probe_service.probe_environment(database_url, redis_url),
        log_path=tmp_path / "worker.log",
        beat=False,
    )
    app = probe_app(database_url, redis_url)
    try:
        with relay_running(app, hold_seconds=runtime_of(app).settings.outbox_relay_hold_seconds):
            # when events are committed
            event_ids = publish(app, count=30)

            # then the worker applies each of them exactly once
            wait_until(
                lambda: all(probe_service.count_notes(runtime, e) == 1 for e in event_ids),
                timeout=30,
                message=worker.log_tail(),
            )
        assert "probe.relay_outbox[" not in worker.log_text()  # beat never ran it
        assert [probe_service.count_notes(runtime, e) for e in event_ids] == [1] * 30
    finally:
        worker.stop()
        runtime.db.dispose()
        runtime_of(app).db.dispose()


def test_the_loop_survives_a_broker_outage_and_relays_everything_once_it_is_back(
    database_url: str, tmp_path: Path, recorded_logs: RecordedLogs
) -> None:
    # given a relay loop on a Redis of its own
    broker = EmbeddedRedis(tmp_path / "redis").start()
    app = probe_app(database_url, broker.url)
    client = redis.Redis.from_url(broker.url)
    try:
        with relay_running(app, max_backoff_seconds=0.5) as (loop, thread):
            first = publish(app, text="before")
            wait_until(lambda: queued_event_ids(client) == first, timeout=10)

            # when Redis stops for a while, and changes are committed meanwhile
            broker.stop()
            written_in_outage = publish(app, count=40, text="outage")
            time.sleep(2.0)  # 40 polls' worth of time
            waiting = backlog(app)
            warnings_in_outage = recorded_logs.warnings()
            alive_in_outage = thread.is_alive()

            # and Redis comes back on the same port
            broker.start()
            wait_until(lambda: backlog(app) == 0, timeout=30, interval=0.05)

        # then the loop kept running, and the events waited in the outbox
        assert alive_in_outage
        assert waiting == 40
        # and the outage was logged once by the loop, not at every poll
        paused = [m for m in warnings_in_outage if "outbox relay of probe paused" in m]
        assert len(paused) == 1, warnings_in_outage
        assert len(warnings_in_outage) <= 4, warnings_in_outage
        assert any("outbox relay of probe resumed" in m for m in recorded_logs.warnings())
        # and everything accepted is on the queue once Redis is back, each event once
        queued = Counter(queued_event_ids(client))
        assert set(queued) == {*first, *written_in_outage}
        assert set(queued.values()) == {1}
        assert loop.passes > 0
    finally:
        client.close()
        broker.stop()
        runtime_of(app).db.dispose()


def test_the_loop_survives_database_errors_logs_them_once_and_then_relays(
    database_url: str, redis_url: str, recorded_logs: RecordedLogs
) -> None:
    # given a relay loop, and its outbox table gone from under it for a second
    # (every pass fails in the database, as when the database is unreachable)
    app = probe_app(database_url, redis_url)
    engine = runtime_of(app).db.engine
    client = redis.Redis.from_url(redis_url)
    with relay_running(app, max_backoff_seconds=0.3) as (_loop, thread):
        with engine.begin() as connection:
            connection.execute(text("ALTER TABLE outbox_events RENAME TO outbox_events_away"))
        time.sleep(1.0)  # 20 polls' worth of time
        alive_while_failing = thread.is_alive()
        with engine.begin() as connection:
            connection.execute(text("ALTER TABLE outbox_events_away RENAME TO outbox_events"))

        # when the database works again and a change is committed
        event_ids = publish(app, count=3)

        # then the loop relays it
        wait_until(lambda: sorted(queued_event_ids(client)) == sorted(event_ids), timeout=10)

    # and it kept running, logging the failure once (not at every poll) and the recovery
    assert alive_while_failing
    paused = [m for m in recorded_logs.warnings() if "paused: the database" in m]
    assert len(paused) == 1, recorded_logs.warnings()
    assert any("resumed: the database" in m for m in recorded_logs.warnings())
    runtime_of(app).db.dispose()


def test_a_stop_request_ends_the_loop_at_once_instead_of_after_its_wait(
    database_url: str, redis_url: str
) -> None:
    # given a loop that polls only every 30 s and has done its first pass
    app = probe_app(database_url, redis_url)
    loop = OutboxRelayLoop(runtime_of(app), app.extensions["celery"], poll_seconds=30)
    thread = threading.Thread(target=loop.run, daemon=True)
    thread.start()
    wait_until(lambda: loop.passes >= 1, timeout=10, interval=0.01)

    # when it is asked to stop
    asked = time.monotonic()
    loop.stop()
    thread.join(timeout=30)

    # then it ends within a fraction of a second, not after its 30 s wait
    assert not thread.is_alive()
    assert time.monotonic() - asked < 1.0
    assert loop.passes == 1
    runtime_of(app).db.dispose()


def test_two_loops_on_postgresql_never_send_the_same_event_twice(
    postgres_url: str, redis_url: str
) -> None:
    # given two relay processes' loops of one service on PostgreSQL, in small batches
    # and one task per event, so that their passes interleave
    apps = [
        probe_app(postgres_url, redis_url, outbox_relay_batch_size=20, event_delivery_batch_size=1)
        for _ in range(2)
    ]
    client = redis.Redis.from_url(redis_url)
    with relay_running(apps[0]) as (first, _), relay_running(apps[1]) as (second, _):
        # when 1,000 events are committed at once, and both loops relay them
        event_ids = publish(apps[0], count=1000)
        wait_until(lambda: backlog(apps[0]) == 0, timeout=60, interval=0.05)

    # then each event is on the queue exactly once
    queued = Counter(queued_event_ids(client))
    assert set(queued) == set(event_ids)
    assert max(queued.values()) == 1
    # and both loops took part (each sent some, together all)
    assert first.sent > 0
    assert second.sent > 0
    assert first.sent + second.sent == 1000
    for app in apps:
        runtime_of(app).db.dispose()

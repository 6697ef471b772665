"""The relay loop wakes when the outbox is written (PostgreSQL NOTIFY), and still polls.

On PostgreSQL an outbox write notifies the outbox's channel at its commit and
the relay loop, LISTENing there, runs a pass at once instead of at its next
poll; a burst of writes makes few passes (at least the minimum gap apart). A
write that did not notify, or a listening connection that broke, delays an
event by at most the poll interval: nothing is lost. SQLite only polls.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from datetime import UTC, datetime

import psycopg
import redis
from sqlalchemy import insert, text

from services.common.outbox import NOTIFY_GAP_SECONDS
from tests.common.test_relay_loop import (
    probe_app,
    publish,
    queued_event_ids,
    relay_running,
    runtime_of,
)
from tests.support.workers import wait_until

LONG_POLL_SECONDS = 5.0
PROMPT_SECONDS = 0.5  # a tenth of the poll interval


def seconds_until_queued(client: redis.Redis, event_id: str, started: float) -> float:
    wait_until(lambda: event_id in queued_event_ids(client), timeout=30, interval=0.005)
    return time.monotonic() - started


def test_on_postgresql_an_event_is_relayed_when_written_not_at_the_next_poll(
    postgres_url: str, redis_url: str
) -> None:
    # given a relay loop that polls only every 5 s, on PostgreSQL, past its first pass
    app = probe_app(postgres_url, redis_url)
    client = redis.Redis.from_url(redis_url)
    with relay_running(app, poll_seconds=LONG_POLL_SECONDS, min_gap_seconds=0) as (loop, _):
        wait_until(lambda: loop.passes >= 1, timeout=10, interval=0.01)

        # when three events are committed one after the other
        took = []
        for n in range(3):
            time.sleep(NOTIFY_GAP_SECONDS)  # a process notifies at most this often
            started = time.monotonic()
            (event_id,) = publish(app, text=f"event {n}")
            took.append(seconds_until_queued(client, event_id, started))

    # then each is on its consumer's queue in a fraction of the poll interval, once
    assert max(took) < PROMPT_SECONDS, [f"{t * 1000:.0f} ms" for t in took]
    assert max(Counter(queued_event_ids(client)).values()) == 1
    runtime_of(app).db.dispose()


def test_a_write_that_did_not_notify_is_still_relayed_by_the_poll(
    database_url: str, redis_url: str
) -> None:
    # given a relay loop polling every 200 ms (listening too, on PostgreSQL)
    poll_seconds = 0.2
    app = probe_app(database_url, redis_url)
    runtime = runtime_of(app)
    assert runtime.outbox is not None
    client = redis.Redis.from_url(redis_url)
    with relay_running(app, poll_seconds=poll_seconds) as (loop, _):
        wait_until(lambda: loop.passes >= 1, timeout=10, interval=0.01)

        # when an event is written straight into the outbox, without a notification
        event_id = str(uuid.uuid4())
        with runtime.db.transaction() as session:
            session.execute(
                insert(runtime.outbox.tables.outbox).values(
                    event_id=event_id,
                    event_type="probe.noted",
                    payload={"text": "unannounced"},
                    occurred_at=datetime.now(UTC),
                )
            )
        took = seconds_until_queued(client, event_id, time.monotonic())

    # then the poll sends it within a few poll intervals all the same
    assert took < 5 * poll_seconds, f"{took * 1000:.0f} ms"
    assert queued_event_ids(client).count(event_id) == 1
    runtime.db.dispose()


def test_a_broken_listening_connection_falls_back_to_polling_then_listens_again(
    postgres_url: str, redis_url: str
) -> None:
    # given a relay loop on PostgreSQL polling every 300 ms and listening
    poll_seconds = 0.3
    app = probe_app(postgres_url, redis_url)
    runtime = runtime_of(app)
    client = redis.Redis.from_url(redis_url)
    with relay_running(app, poll_seconds=poll_seconds, min_gap_seconds=0) as (loop, _):
        wait_until(lambda: loop.passes >= 1, timeout=10, interval=0.01)

        # when its listening connection is killed by the server
        with runtime.db.transaction() as session:
            killed = session.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE query LIKE 'LISTEN %' AND pid <> pg_backend_pid()"
                )
            ).all()
        assert killed == [(True,)]
        # then an event written meanwhile is still relayed (by the poll)
        (first,) = publish(app, text="while deaf")
        seconds_until_queued(client, first, time.monotonic())

        # and once it listens again, an event goes out in a fraction of the poll interval
        time.sleep(1.5)  # RELISTEN_SECONDS, plus a pass
        took = []
        for n in range(3):
            time.sleep(NOTIFY_GAP_SECONDS)
            started = time.monotonic()
            (event_id,) = publish(app, text=f"heard {n}")
            took.append(seconds_until_queued(client, event_id, started))

    assert min(took) < poll_seconds / 3, [f"{t * 1000:.0f} ms" for t in took]
    assert max(Counter(queued_event_ids(client)).values()) == 1
    runtime.db.dispose()


def test_a_burst_of_writes_notifies_and_passes_a_few_times_and_is_all_relayed_at_once(
    postgres_url: str, redis_url: str
) -> None:
    # given a relay loop on PostgreSQL polling every 5 s, passes at least 100 ms apart,
    # and another connection listening on the outbox's channel
    min_gap = 0.1
    app = probe_app(postgres_url, redis_url)
    runtime = runtime_of(app)
    assert runtime.outbox is not None
    client = redis.Redis.from_url(redis_url)
    conninfo = runtime.db.engine.url.set(drivername="postgresql").render_as_string(
        hide_password=False
    )
    with (
        psycopg.connect(conninfo, autocommit=True) as listener,
        relay_running(app, poll_seconds=LONG_POLL_SECONDS, min_gap_seconds=min_gap) as (loop, _),
    ):
        listener.execute(f'LISTEN "{runtime.outbox.wakeup_channel}"')
        wait_until(lambda: loop.passes >= 1, timeout=10, interval=0.01)
        passes_before = loop.passes

        # when 100 events are committed one by one, as fast as they go
        started = time.monotonic()
        event_ids = [publish(app, text=f"burst {n}")[0] for n in range(100)]
        written = time.monotonic() - started
        wait_until(
            lambda: set(event_ids) <= set(queued_event_ids(client)), timeout=30, interval=0.01
        )
        took = time.monotonic() - started
        passes = loop.passes - passes_before
        notifications = sum(1 for _ in listener.notifies(timeout=0.5))

    # then the writes notified at most once per NOTIFY_GAP_SECONDS, not each time
    assert 1 <= notifications <= written / NOTIFY_GAP_SECONDS + 1, (notifications, written)
    assert notifications < 100
    # and all were relayed once, long before the next poll (those that did not notify
    # by the pass after one that sent something), in a pass per 100 ms at most (and
    # the empty one that ends the run), not a pass per write
    assert took < LONG_POLL_SECONDS / 2, f"{took * 1000:.0f} ms"
    assert passes <= took / min_gap + 2, (passes, took)
    assert max(Counter(queued_event_ids(client)).values()) == 1
    runtime.db.dispose()

"""The relay loop holds a pass back while its consumers are behind, for a bounded time.

While every queue the outbox feeds still holds a task no worker has taken,
the events written meanwhile wait in the outbox and go out together, as one
task, once a worker takes the waiting one (or after
``OUTBOX_RELAY_HOLD_SECONDS`` in any case); with the consumers keeping up,
nothing waits. There is no worker here: the tests take tasks off the queue
as a worker would.
"""

from __future__ import annotations

import time

import redis

from services.common.events import consumers_of_producer
from tests.common.test_relay_loop import (
    QUEUE,
    probe_app,
    publish,
    queued_event_ids,
    relay_running,
    runtime_of,
)
from tests.support.workers import wait_until

POLL_SECONDS = 0.02


def tasks_on_queue(client: redis.Redis) -> int:
    return int(client.llen(QUEUE))


def test_events_written_while_a_task_waits_go_out_as_one_task_once_it_is_taken(
    database_url: str, redis_url: str
) -> None:
    # given a relay loop that may hold a pass back for up to 30 s, and one task on the
    # consumer's queue that no worker has taken
    app = probe_app(database_url, redis_url)
    client = redis.Redis.from_url(redis_url)
    with relay_running(app, poll_seconds=POLL_SECONDS, min_gap_seconds=0, hold_seconds=30) as (
        loop,
        _,
    ):
        waiting = publish(app, text="waiting")
        wait_until(lambda: queued_event_ids(client) == waiting, timeout=10, interval=0.005)

        # when three more events are committed one by one while that task waits
        held = [publish(app, text=f"held {n}")[0] for n in range(3)]
        time.sleep(20 * POLL_SECONDS)
        while_waiting = queued_event_ids(client)

        # and a worker then takes the waiting task
        client.rpop(QUEUE)
        wait_until(lambda: tasks_on_queue(client) == 1, timeout=10, interval=0.005)
        held_passes = loop.held_passes

    # then none of the three went out while the task waited, and then all went as one task
    assert while_waiting == waiting
    assert sorted(queued_event_ids(client)) == sorted(held)
    assert tasks_on_queue(client) == 1
    assert held_passes >= 1
    runtime_of(app).db.dispose()


def test_a_pass_is_held_back_no_longer_than_the_hold(database_url: str, redis_url: str) -> None:
    # given a relay loop holding passes back for at most 0.3 s, and a task no worker takes
    hold_seconds = 0.3
    app = probe_app(database_url, redis_url)
    client = redis.Redis.from_url(redis_url)
    with relay_running(
        app, poll_seconds=POLL_SECONDS, min_gap_seconds=0, hold_seconds=hold_seconds
    ):
        waiting = publish(app, text="waiting")
        wait_until(lambda: queued_event_ids(client) == waiting, timeout=10, interval=0.005)

        # when an event is committed and the waiting task is never taken
        started = time.monotonic()
        (event_id,) = publish(app, text="held")
        wait_until(lambda: event_id in queued_event_ids(client), timeout=10, interval=0.005)
        took = time.monotonic() - started

    # then it still goes out, after about the hold (not at the first poll), as a task of its own
    assert took >= hold_seconds - POLL_SECONDS, f"{took * 1000:.0f} ms"
    assert sorted(queued_event_ids(client)) == sorted([*waiting, event_id])
    assert tasks_on_queue(client) == 2
    runtime_of(app).db.dispose()


def test_with_no_task_waiting_or_no_hold_an_event_goes_out_at_once(
    database_url: str, redis_url: str
) -> None:
    # given a relay loop with the hold turned off, and a task no worker has taken
    app = probe_app(database_url, redis_url)
    client = redis.Redis.from_url(redis_url)
    with relay_running(app, poll_seconds=POLL_SECONDS, min_gap_seconds=0, hold_seconds=0):
        waiting = publish(app, text="waiting")
        wait_until(lambda: queued_event_ids(client) == waiting, timeout=10, interval=0.005)

        # when an event is committed
        (event_id,) = publish(app, text="not held")

        # then it goes out at the next poll, as a task of its own
        wait_until(lambda: event_id in queued_event_ids(client), timeout=5, interval=0.005)
    assert tasks_on_queue(client) == 2

    # and with a hold of 30 s but an empty queue, an event goes out at once too (well
    # within the hold; the passes after it may be held, behind the task it made)
    client.delete(QUEUE)
    with relay_running(app, poll_seconds=POLL_SECONDS, min_gap_seconds=0, hold_seconds=30):
        (event_id,) = publish(app, text="consumers idle")
        wait_until(lambda: event_id in queued_event_ids(client), timeout=5, interval=0.005)
    runtime_of(app).db.dispose()


def test_the_queues_an_outbox_feeds_are_its_events_consumers() -> None:
    # given the platform's routing table, then each producer feeds the services consuming it
    assert consumers_of_producer("content") == ["referrals", "rewards"]
    assert consumers_of_producer("referrals") == ["rewards"]
    assert consumers_of_producer("rewards") == ["content", "rewards"]
    assert consumers_of_producer("gateway") == []
    # and with routes of its own, those
    assert consumers_of_producer("probe", {"probe.*": ("probe",), "other.*": ("x",)}) == ["probe"]

"""Every ClickSink (the Redis stream, the database) keeps the same promise: all or nothing."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fanfare.embedded import EmbeddedRedis
from services.common.db import Database
from services.referrals.buffer import ClickBuffer, DatabaseClickSink
from services.referrals.classify import VisitorKind
from services.referrals.clicks import Click
from services.referrals.codes import new_click_id
from services.referrals.interfaces import ClickSink, ClickSinkUnavailable
from services.referrals.models import clicks
from tests.referrals.conftest import ReferralsHarness, build_harness, close_harness

SinkFactory = Callable[[ReferralsHarness], ClickSink]

SINKS: dict[str, SinkFactory] = {
    "redis-stream": lambda harness: harness.components.stream,
    "database": lambda harness: DatabaseClickSink(harness.runtime.db, harness.runtime.outbox),
}


def some_clicks(link_id: int, count: int) -> list[Click]:
    now = time.time()
    return [
        Click(new_click_id(), link_id, "pack-1", VisitorKind.HUMAN, f"v{n}", "ip", now)
        for n in range(count)
    ]


@pytest.mark.parametrize("sink_name", sorted(SINKS))
def test_every_sink_keeps_every_click_it_takes(live_pack: ReferralsHarness, sink_name: str) -> None:
    # given a link and a sink
    link = live_pack.create_link()
    sink = SINKS[sink_name](live_pack)

    # when the sink takes a batch of clicks (and the drain runs, for the stream)
    sink.push(some_clicks(int(link["id"]), 25))
    live_pack.drain()

    # then all of them are stored
    assert live_pack.count(clicks) == 25
    assert live_pack.stats("links", link["id"])["human_clicks"] == 25


@pytest.mark.parametrize("sink_name", sorted(SINKS))
def test_every_sink_refuses_with_its_domain_error_when_its_store_is_down(
    database_url: str, tmp_path: Path, sink_name: str
) -> None:
    # given a sink whose store is gone (Redis stopped, or a database that is unreachable)
    redis_server = EmbeddedRedis(tmp_path / "redis").start()
    harness = build_harness(database_url, redis_server.url)
    try:
        harness.publish_pack(expires_at=datetime.now(UTC) + timedelta(days=1))
        link = harness.create_link()
        if sink_name == "redis-stream":
            redis_server.stop()
            sink = SINKS[sink_name](harness)
        else:
            unreachable = Database(
                "postgresql+psycopg://nobody@127.0.0.1:1/none", connect_timeout=1
            )
            sink = DatabaseClickSink(unreachable, None)

        # when it is handed clicks
        # then it says so with ClickSinkUnavailable, not a vendor error
        with pytest.raises(ClickSinkUnavailable):
            sink.push(some_clicks(int(link["id"]), 3))
    finally:
        close_harness(harness)
        redis_server.stop()


def test_the_buffer_keeps_clicks_both_sinks_refused_and_sends_them_later(
    live_pack: ReferralsHarness,
) -> None:
    # given a buffer whose two sinks refuse, then recover
    link = live_pack.create_link()
    working = DatabaseClickSink(live_pack.runtime.db, live_pack.runtime.outbox)

    class FlakySink:
        def __init__(self) -> None:
            self.down = True

        def push(self, batch: Sequence[Click]) -> None:
            if self.down:
                raise ClickSinkUnavailable("down")
            working.push(batch)

    primary, fallback = FlakySink(), FlakySink()
    buffer = ClickBuffer(primary, fallback, batch_size=1000, flush_interval=60)
    for click in some_clicks(int(link["id"]), 4):
        buffer.add(click)

    # when a flush fails, and a later one finds the fallback back
    assert buffer.flush() == 0
    assert buffer.pending() == 4
    fallback.down = False
    sent = buffer.flush()

    # then no click was lost
    assert sent == 4
    assert buffer.pending() == 0
    assert live_pack.count(clicks) == 4


def test_a_full_buffer_does_not_make_the_request_wait_for_a_stalled_redis(
    live_pack: ReferralsHarness,
) -> None:
    # given a buffer of 5 in front of the Redis stream, and Redis holding every write
    link = live_pack.create_link()
    stream = live_pack.components.stream
    buffer = ClickBuffer(
        stream,
        DatabaseClickSink(live_pack.runtime.db, live_pack.runtime.outbox),
        batch_size=5,
        flush_interval=0.02,
    )
    live_pack.runtime.redis.client_pause(1500, all=False)

    # when requests add 40 clicks, eight buffers' worth
    started = time.perf_counter()
    for click in some_clicks(int(link["id"]), 40):
        buffer.add(click)
    adding = time.perf_counter() - started

    # then no request waited for Redis, and once Redis writes again every click is there
    assert adding < 0.5
    deadline = time.monotonic() + 10
    while stream.length() < 40 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert stream.length() == 40
    assert buffer.pending() == 0


def test_a_forked_process_sends_its_own_clicks_with_a_flusher_of_its_own(
    live_pack: ReferralsHarness,
) -> None:
    # given a buffer that has sent a click from this process (its flusher thread runs)
    link = live_pack.create_link()
    stream = live_pack.components.stream
    buffer = ClickBuffer(stream, stream, batch_size=100, flush_interval=0.02)
    parent_click, child_click = some_clicks(int(link["id"]), 2)
    buffer.add(parent_click)
    assert buffer.flush() + stream.length() >= 1

    # when the process forks (as a server preloading the app before its workers) and the
    # child takes a click, without anyone calling flush
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through its exit status
        buffer.add(child_click)
        deadline = time.monotonic() + 5
        while stream.length() < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        os._exit(0 if stream.length() == 2 else 1)
    _, status = os.waitpid(child, 0)

    # then the child's own flusher sent it: both clicks are in the stream
    assert os.waitstatus_to_exitcode(status) == 0
    stream.ensure_group()
    sent = stream.read(10, pending=False).clicks
    assert [click.click_id for click in sent] == [parent_click.click_id, child_click.click_id]

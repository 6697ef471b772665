"""From the redirect to the tables: stream, drain, roll-ups, milestones, outages, retention."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from fanfare.embedded import EmbeddedRedis
from services.referrals.buffer import DatabaseClickSink
from services.referrals.classify import VisitorKind
from services.referrals.clicks import Click
from services.referrals.codes import new_click_id
from services.referrals.ingest import milestones_crossed, store_clicks
from services.referrals.models import click_daily, clicks, event_tables
from services.referrals.partitions import partition_name
from services.referrals.tasks import delete_old_clicks
from tests.referrals.conftest import (
    PHONE_SAFARI,
    SECRET,
    ReferralsHarness,
    build_harness,
    close_harness,
)
from tests.support.live import serve
from tests.support.workers import CeleryWorker, wait_until


def test_milestones_are_1_10_100_and_so_on() -> None:
    assert milestones_crossed(0, 1) == [1]
    assert milestones_crossed(0, 10) == [1, 10]
    assert milestones_crossed(9, 10) == [10]
    assert milestones_crossed(10, 99) == []
    assert milestones_crossed(99, 1000) == [100, 1000]


def test_human_clicks_announce_milestones_per_link(live_pack: ReferralsHarness) -> None:
    # given a fan's link
    link = live_pack.create_link()

    # when ten different people click it, and a bot and a preview crawler fetch it
    for person in range(10):
        live_pack.visit(link["code"], PHONE_SAFARI, ip=f"198.51.100.{person + 1}")
    live_pack.visit(link["code"], "curl/8.5.0")
    live_pack.visit(link["code"], "Twitterbot/1.0")
    live_pack.drain()

    # then the 1st and the 10th human click were announced, for this fan's link only
    events = live_pack.outbox_events("referrals.human_click")
    assert sorted(event["milestone"] for event in events) == [1, 10]
    assert {event["fan_id"] for event in events} == {"fan-1"}
    assert {event["link_id"] for event in events} == {link["id"]}
    assert {event["code"] for event in events} == {link["code"]}
    assert live_pack.stats("links", link["id"])["human_clicks"] == 10


def test_a_batch_delivered_twice_is_counted_once(live_pack: ReferralsHarness) -> None:
    # given three clicks that were stored once
    link = live_pack.create_link()
    now = time.time()
    batch = [
        Click(new_click_id(), int(link["id"]), "pack-1", VisitorKind.HUMAN, f"v{n}", "ip", now)
        for n in range(3)
    ]
    first = store_clicks(live_pack.runtime.db, batch, outbox=live_pack.runtime.outbox)

    # when the same batch comes again (a drain that died before acknowledging it)
    again = store_clicks(live_pack.runtime.db, batch, outbox=live_pack.runtime.outbox)

    # then nothing is counted twice
    assert (first.inserted, again.inserted, again.duplicates) == (3, 0, 3)
    assert live_pack.stats("links", link["id"])["human_clicks"] == 3
    assert len(live_pack.outbox_events("referrals.human_click")) == 1


def test_a_poison_stream_entry_is_parked_and_the_drain_goes_on(
    live_pack: ReferralsHarness,
) -> None:
    # given a stream holding something that is not a click, then a real click
    link = live_pack.create_link()
    live_pack.runtime.redis.xadd(live_pack.components.settings.click_stream_key, {"c": "garbage"})
    live_pack.visit(link["code"])

    # when the drain runs
    stored = live_pack.drain()

    # then the click is stored, the garbage is in dead_letters, and the stream is empty
    assert stored == 1
    letters = event_tables.dead_letters
    assert live_pack.count(letters, letters.c.kind == "task") == 1
    assert live_pack.stream_length() == 0
    assert live_pack.drain() == 0


def test_raw_clicks_past_retention_are_deleted_and_rollups_kept(
    live_pack: ReferralsHarness,
) -> None:
    # given a click from 100 days ago and one from today
    link = live_pack.create_link()
    old = (datetime.now(UTC) - timedelta(days=100)).timestamp()
    sink = DatabaseClickSink(live_pack.runtime.db, live_pack.runtime.outbox)
    for moment in (old, time.time()):
        sink.push(
            [Click(new_click_id(), int(link["id"]), "pack-1", VisitorKind.HUMAN, "v", "i", moment)]
        )

    # when the retention task runs with a 90-day retention
    result = delete_old_clicks(live_pack.runtime, retention_days=90)

    # then only the old raw click is gone (on PostgreSQL with its whole day's partition),
    # and the counts still include it
    if live_pack.runtime.db.dialect == "postgresql":
        old_day = datetime.fromtimestamp(old, UTC).date()
        assert result.partitions_dropped == [partition_name(old_day)]
        assert result.rows_deleted == 0
    else:
        assert (result.partitions_dropped, result.rows_deleted) == ([], 1)
    assert live_pack.count(clicks) == 1
    assert live_pack.count(click_daily) == 2
    assert live_pack.stats("links", link["id"])["human_clicks"] == 2


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    """A Redis of this test's own, so stopping it leaves the session's Redis alone."""
    server = EmbeddedRedis(tmp_path / "redis").start()
    try:
        yield server
    finally:
        server.stop()


def test_with_redis_down_the_redirect_works_and_the_click_is_kept(
    database_url: str, own_redis: EmbeddedRedis
) -> None:
    # given the service running on a Redis that then goes down
    harness = build_harness(database_url, own_redis.url)
    try:
        harness.publish_pack(expires_at=datetime.now(UTC) + timedelta(days=1))
        link = harness.create_link()
        harness.visit(link["code"])  # warms the in-process cache, as traffic would
        own_redis.stop()

        # when a person follows the link
        started = time.monotonic()
        response = harness.visit(link["code"], PHONE_SAFARI, ip="198.51.100.9")
        elapsed = time.monotonic() - started

        # then they are redirected at once, and their click is already in the database
        assert response.status_code == 302
        assert elapsed < 1.0
        click_id = response.headers["Location"].rsplit("ff_click=", 1)[1]
        assert harness.count(clicks, clicks.c.click_id == click_id) == 1
        assert harness.stats("links", link["id"])["human_clicks"] == 1

        # and a link not cached in the process still resolves from the database
        other = harness.create_link(channel="EMAIL")
        assert harness.visit(other["code"]).status_code == 302
    finally:
        close_harness(harness)


def worker_environment(database_url: str, redis_url: str) -> dict[str, str]:
    return {
        "FANFARE_ENV": "test",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "INTERNAL_TOKEN_SECRET": SECRET,
        "CLICK_DRAIN_INTERVAL_SECONDS": "0.2",
        "OUTBOX_RELAY_INTERVAL_SECONDS": "0.5",
        "LOG_FORMAT": "text",
    }


def test_a_real_worker_drains_buffered_clicks_into_the_stats(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    # given the service buffering clicks (50 at a time or every 50 ms) and its worker with beat
    harness = build_harness(
        database_url, redis_url, click_buffer_size=50, click_flush_interval_seconds=0.05
    )
    worker = CeleryWorker(
        "services.referrals.worker:celery",
        queue="referrals",
        env=worker_environment(database_url, redis_url),
        log_path=tmp_path / "worker.log",
        concurrency=1,
    )
    try:
        harness.publish_pack(expires_at=datetime.now(UTC) + timedelta(days=1))
        link = harness.create_link()
        worker.start()

        # when 7 people follow the link over real HTTP
        with serve(harness.app) as base_url:
            for person in range(7):
                response = requests.get(
                    f"{base_url}/r/{link['code']}",
                    headers={"User-Agent": PHONE_SAFARI, "X-Forwarded-For": f"10.0.0.{person}"},
                    allow_redirects=False,
                    timeout=5,
                )
                assert response.status_code == 302

            # then within seconds the worker has stored them and they show in the stats
            wait_until(
                lambda: harness.stats("links", link["id"])["human_clicks"] == 7,
                timeout=20,
                message=worker.log_tail(),
            )
        assert harness.stream_length() == 0
        with harness.runtime.db.transaction() as session:
            kinds = set(session.scalars(select(clicks.c.kind)).all())
        assert kinds == {"human"}
    finally:
        worker.stop()
        close_harness(harness)

"""The raw clicks table: daily partitions on PostgreSQL, a plain table on SQLite."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import text

from fanfare.apps import get_app_spec
from services.common import migrations
from services.common.db import create_db_engine
from services.referrals.classify import VisitorKind
from services.referrals.clicks import Click
from services.referrals.codes import new_click_id
from services.referrals.ingest import IngestResult, store_clicks
from services.referrals.models import click_daily, clicks
from services.referrals.partitions import partition_name
from services.referrals.tasks import PARTITIONS_AHEAD_DAYS, delete_old_clicks
from tests.referrals.conftest import ReferralsHarness


def midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def human_click(link_id: int, moment: datetime, visitor: str = "v") -> Click:
    return Click(
        new_click_id(), link_id, "pack-1", VisitorKind.HUMAN, visitor, "ip", moment.timestamp()
    )


def partition_of_each_click(harness: ReferralsHarness) -> dict[str, str]:
    with harness.runtime.db.transaction() as session:
        rows = session.execute(text("SELECT click_id, tableoid::regclass::text FROM clicks"))
        return {str(click_id): str(table) for click_id, table in rows}


def test_clicks_either_side_of_midnight_land_in_their_own_days(
    live_pack: ReferralsHarness,
) -> None:
    # given a link and no partition yet for three days ago or the days after
    link_id = int(live_pack.create_link()["id"])
    day = datetime.now(UTC).date() - timedelta(days=3)
    late = human_click(link_id, midnight(day + timedelta(days=1)) - timedelta(microseconds=1))
    on_the_dot = human_click(link_id, midnight(day + timedelta(days=1)), visitor="w")
    next_day = human_click(link_id, midnight(day + timedelta(days=2)) + timedelta(hours=5))

    # when a batch of clicks spanning those days is stored
    stored = store_clicks(
        live_pack.runtime.db, [late, on_the_dot, next_day], outbox=live_pack.runtime.outbox
    )

    # then every click is kept, each in its day, and the roll-ups count a click a day
    assert stored.inserted == 3
    assert live_pack.count(clicks) == 3
    assert live_pack.count(click_daily) == 3
    if live_pack.runtime.db.dialect == "postgresql":
        assert partition_of_each_click(live_pack) == {
            late.click_id: partition_name(day),
            on_the_dot.click_id: partition_name(day + timedelta(days=1)),
            next_day.click_id: partition_name(day + timedelta(days=2)),
        }


def test_two_writers_meeting_a_new_day_store_each_click_once(
    live_pack: ReferralsHarness,
) -> None:
    # given a batch of clicks on a day that has no partition yet
    link_id = int(live_pack.create_link()["id"])
    moment = midnight(datetime.now(UTC).date() - timedelta(days=5)) + timedelta(hours=1)
    batch = [human_click(link_id, moment + timedelta(seconds=n), f"v{n}") for n in range(20)]
    results: list[IngestResult] = []

    # when two writers store it at the same time (a drain and a web process's fallback)
    def store() -> None:
        results.append(store_clicks(live_pack.runtime.db, batch, outbox=None))

    writers = [threading.Thread(target=store) for _ in range(2)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(30)

    # then both succeed and the clicks are stored and counted once
    assert sorted(result.inserted for result in results) == [0, 20]
    assert live_pack.count(clicks) == 20
    assert live_pack.stats("links", str(link_id))["human_clicks"] == 20


def test_retention_drops_expired_days_trims_the_cutoff_day_and_keeps_rollups(
    live_pack: ReferralsHarness,
) -> None:
    # given clicks 100 and 95 days old, either side of the 90-day cutoff, and one today
    link_id = int(live_pack.create_link()["id"])
    now = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    cutoff = now - timedelta(days=90)
    moments = {
        "100 days": now - timedelta(days=100),
        "95 days": now - timedelta(days=95),
        "just past": cutoff - timedelta(hours=1),
        "just kept": cutoff + timedelta(hours=1),
        "today": now,
    }
    batch = {name: human_click(link_id, moment, name) for name, moment in moments.items()}
    store_clicks(live_pack.runtime.db, list(batch.values()), outbox=live_pack.runtime.outbox)

    # when the retention task runs with a 90-day retention
    result = delete_old_clicks(live_pack.runtime, retention_days=90, now=now)

    # then the raw clicks past the cutoff are gone and the rest stay
    with live_pack.runtime.db.transaction() as session:
        left = set(session.scalars(clicks.select().with_only_columns(clicks.c.visitor_hash)))
    assert left == {"just kept", "today"}
    # and every day's roll-up still counts its click
    assert live_pack.count(click_daily) == 4
    assert live_pack.stats("links", str(link_id))["human_clicks"] == 5
    if live_pack.runtime.db.dialect == "postgresql":
        # whole expired days went as partitions, the cutoff's day lost one row
        assert result.partitions_dropped == [
            partition_name(moments["100 days"].date()),
            partition_name(moments["95 days"].date()),
        ]
        assert result.rows_deleted == 1
    else:
        assert (result.partitions_dropped, result.rows_deleted) == ([], 3)


def test_retention_makes_the_next_days_partitions_ahead(live_pack: ReferralsHarness) -> None:
    # given a fresh database
    now = datetime.now(UTC)

    # when the retention task runs
    result = delete_old_clicks(live_pack.runtime, retention_days=90, now=now)
    again = delete_old_clicks(live_pack.runtime, retention_days=90, now=now)

    # then on PostgreSQL yesterday's to a week ahead's partitions exist, made once
    if live_pack.runtime.db.dialect == "postgresql":
        expected = [
            partition_name(now.date() + timedelta(days=offset))
            for offset in range(-1, PARTITIONS_AHEAD_DAYS + 1)
        ]
        assert result.partitions_created == expected
        assert again.partitions_created == []
    else:
        assert result.partitions_created == again.partitions_created == []


def test_the_migration_moves_existing_clicks_into_daily_partitions(database_url: str) -> None:
    # given a database before partitioning, holding clicks of two days
    directory = get_app_spec("referrals").migrations_dir
    migrations.upgrade(directory, database_url, "referrals_0003")
    engine = create_db_engine(database_url)
    moments = [datetime(2026, 11, 1, 23, 59, tzinfo=UTC), datetime(2026, 11, 2, 0, 1, tzinfo=UTC)]
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO referral_links (code, fan_id, pack_id, channel, human_clicks, "
                    "created_at) VALUES ('Abcdefg1', 'fan-1', 'pack-1', 'X', 2, :at)"
                ),
                {"at": moments[0]},
            )
            for number, moment in enumerate(moments):
                connection.execute(
                    text(
                        "INSERT INTO clicks (click_id, link_id, pack_id, kind, unique_visit, "
                        "occurred_at) VALUES (:click_id, 1, 'pack-1', 'human', true, :at)"
                    ),
                    {"click_id": f"click{number}", "at": moment},
                )

        # when it is migrated to the head, and back down again
        migrations.upgrade(directory, database_url)
        with engine.connect() as connection:
            if engine.dialect.name == "postgresql":
                query = "SELECT click_id, tableoid::regclass::text FROM clicks ORDER BY click_id"
            else:
                query = "SELECT click_id, 'clicks' FROM clicks ORDER BY click_id"
            after_upgrade = [tuple(row) for row in connection.execute(text(query))]
        migrations.downgrade(directory, database_url, "referrals_0003")
        with engine.connect() as connection:
            after_downgrade = list(
                connection.execute(text("SELECT click_id FROM clicks ORDER BY click_id")).scalars()
            )
    finally:
        engine.dispose()

    # then every click is kept, each in its day's partition on PostgreSQL
    if database_url.startswith("postgresql"):
        assert after_upgrade == [
            ("click0", partition_name(date(2026, 11, 1))),
            ("click1", partition_name(date(2026, 11, 2))),
        ]
    else:
        assert after_upgrade == [("click0", "clicks"), ("click1", "clicks")]
    assert after_downgrade == ["click0", "click1"]

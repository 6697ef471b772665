"""Every service's outbox relay finds the events still to send through their own index.

The relay asks for ``sent_at IS NULL ORDER BY seq LIMIT n`` on every pass. On
an outbox of many sent events PostgreSQL once chose to walk the primary key
through all of them (rewards' benchmark); the partial index of unsent rows
(``migration_ops.create_outbox_unsent_index_v1``) keeps each pass to the rows
it sends.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import insert, text, update

from fanfare.apps import get_app_spec
from services.common import migrations
from services.common.db import Database, new_metadata
from services.common.events import Event
from services.common.outbox import EventTables, Outbox

SERVICES_WITH_AN_OUTBOX = ("content", "referrals", "rewards")
event_tables = EventTables(new_metadata())

SENT_BEFORE = 2_000
UNSENT = 5


def outbox_rows(count: int) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    return [
        {
            "event_id": str(uuid.uuid4()),
            "event_type": "referrals.share_recorded",
            "payload": {"fan_id": f"fan-{n}", "share_id": f"share-{n}", "pack_id": "pack-1"},
            "occurred_at": now,
        }
        for n in range(count)
    ]


def relay_query_plan(session: Any, outbox: Outbox) -> str:
    """How the database runs the relay's query (on PostgreSQL the statement that takes a batch)."""
    dialect = session.get_bind().dialect
    if dialect.name == "postgresql":
        statement = outbox.take_unsent_statement().compile(dialect=dialect)
        parameters = statement.construct_params({"limit": 500, "now": datetime.now(UTC)})
        result = session.connection().exec_driver_sql("EXPLAIN " + str(statement), parameters)
        return "\n".join(str(row[-1]) for row in result)
    query = outbox.unsent_query(500)
    sql = str(query.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    return "\n".join(str(row[-1]) for row in session.execute(text("EXPLAIN QUERY PLAN " + sql)))


@pytest.fixture(params=SERVICES_WITH_AN_OUTBOX)
def service_database(request: pytest.FixtureRequest, database_url: str) -> Iterator[Database]:
    """A service's database migrated to its head."""
    migrations.upgrade(get_app_spec(request.param).migrations_dir, database_url)
    database = Database(database_url)
    yield database
    database.dispose()


def test_the_relay_reads_only_the_unsent_events_through_their_index(
    service_database: Database,
) -> None:
    # given an outbox of 2,005 events whose statistics were taken before any was sent,
    # and then 2,000 of them sent (stale statistics, as after a burst)
    db = service_database
    table = event_tables.outbox
    sent, unsent = outbox_rows(SENT_BEFORE), outbox_rows(UNSENT)
    with db.transaction() as session:
        session.execute(insert(table), [*sent, *unsent])
    with db.engine.connect() as connection:
        connection.execute(text("ANALYZE outbox_events"))
        connection.commit()
    with db.transaction() as session:
        session.execute(
            update(table)
            .where(table.c.event_id.in_([row["event_id"] for row in sent]))
            .values(sent_at=datetime.now(UTC))
        )

    # when the relay looks for what to send, and sends it
    outbox = Outbox(
        event_tables, producer="referrals", routes={"referrals.share_recorded": ("rewards",)}
    )
    with db.transaction() as session:
        plan = relay_query_plan(session, outbox)
    relayed: list[Event] = []
    count = outbox.relay_batch(db, lambda _service, event: relayed.append(event)).sent

    # then it sends just those five, oldest first, and on PostgreSQL (the production
    # database) finds them through the index of unsent events, never by walking every
    # event sent; SQLite, the development default, plans its own way
    if db.dialect == "postgresql":
        assert "Index Scan using ix_outbox_events_unsent_seq" in plan, plan
        assert "Seq Scan" not in plan, plan
        # the rows of the batch found are then fetched (and marked sent) by their key
        assert "Index Cond: (seq = ANY" in plan, plan
    else:
        assert "outbox_events" in plan, plan
    assert count == UNSENT
    assert [event.id for event in relayed] == [row["event_id"] for row in unsent]

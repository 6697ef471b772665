"""The outbox relay finds the events still to send through their own index.

The relay asks for ``sent_at IS NULL ORDER BY seq LIMIT n`` on every pass. On
an outbox of many sent events PostgreSQL once chose to walk the primary key
through all of them (rewards_0007); the partial index of unsent rows keeps
each pass to the rows it sends.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from sqlalchemy import insert, select, text, update

from services.common.events import Event
from services.common.outbox import Outbox
from services.rewards.models import event_tables

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


def relay_query_plan(session: Any) -> str:
    """How the database runs the relay's query (the one ``Outbox._unsent`` builds)."""
    table = event_tables.outbox
    query = select(table).where(table.c.sent_at.is_(None)).order_by(table.c.seq).limit(500)
    dialect = session.get_bind().dialect
    if dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
        explain = "EXPLAIN "
    else:
        explain = "EXPLAIN QUERY PLAN "
    sql = str(query.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    return "\n".join(str(row[-1]) for row in session.execute(text(explain + sql)))


def test_the_relay_reads_only_the_unsent_events_through_their_index(
    rewards_app: Flask,
) -> None:
    # given an outbox of 2,005 events whose statistics were taken before any was sent,
    # and then 2,000 of them sent (stale statistics, as after a burst)
    runtime = rewards_app.extensions["fanfare"]
    table = event_tables.outbox
    sent, unsent = outbox_rows(SENT_BEFORE), outbox_rows(UNSENT)
    with runtime.db.transaction() as session:
        session.execute(insert(table), [*sent, *unsent])
    with runtime.db.engine.connect() as connection:
        connection.execute(text("ANALYZE outbox_events"))
        connection.commit()
    with runtime.db.transaction() as session:
        session.execute(
            update(table)
            .where(table.c.event_id.in_([row["event_id"] for row in sent]))
            .values(sent_at=datetime.now(UTC))
        )

    # when the relay looks for what to send, and sends it
    with runtime.db.transaction() as session:
        plan = relay_query_plan(session)
    relayed: list[Event] = []
    outbox = Outbox(
        event_tables, producer="referrals", routes={"referrals.share_recorded": ("rewards",)}
    )
    count = outbox.relay_pending(runtime.db, lambda _service, event: relayed.append(event))

    # then it sends just those five, oldest first, and on PostgreSQL (the production
    # database) finds them through the index of unsent events, never by walking every
    # event sent; SQLite, the development default, plans its own way
    if runtime.db.dialect == "postgresql":
        assert "Index Scan using ix_outbox_events_unsent_seq" in plan, plan
        assert "pk_outbox_events" not in plan, plan
    else:
        assert "outbox_events" in plan, plan
    assert count == UNSENT
    assert [event.id for event in relayed] == [row["event_id"] for row in unsent]

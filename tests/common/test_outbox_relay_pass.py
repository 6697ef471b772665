"""One relay pass: what is marked sent, and what a broker refusal mid-pass leaves behind.

On PostgreSQL a pass takes its rows and marks them sent in one statement
(``UPDATE ... RETURNING``); the rows the broker did not take must come out of
the pass exactly as if they had never been marked.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import insert, select

from services.common.db import Database, new_metadata
from services.common.events import Event
from services.common.outbox import EventTables, Outbox

event_tables = EventTables(new_metadata())
ROUTES = {"referrals.share_recorded": ("rewards",)}


class BrokerDown(Exception):
    pass


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    event_tables.outbox.metadata.create_all(database.engine)
    yield database
    database.dispose()


def write_events(db: Database, count: int) -> list[str]:
    ids = [str(uuid.uuid4()) for _ in range(count)]
    with db.transaction() as session:
        session.execute(
            insert(event_tables.outbox),
            [
                {
                    "event_id": event_id,
                    "event_type": "referrals.share_recorded",
                    "payload": {"fan_id": f"fan-{n}"},
                    "occurred_at": datetime.now(UTC),
                }
                for n, event_id in enumerate(ids)
            ],
        )
    return ids


def outbox_rows(db: Database) -> dict[str, Any]:
    table = event_tables.outbox
    with db.reading() as session:
        rows = session.execute(select(table).order_by(table.c.seq)).mappings().all()
    return {row["event_id"]: row for row in rows}


def test_a_pass_marks_what_it_sent_once_with_one_attempt_each(db: Database) -> None:
    # given five events waiting in the outbox
    ids = write_events(db, 5)
    outbox = Outbox(event_tables, producer="referrals", routes=ROUTES)
    batches: list[list[str]] = []

    def send_batch(_service: str, events: Sequence[Event]) -> None:
        batches.append([event.id for event in events])

    # when a pass sends them in groups of two, then another pass runs
    first = outbox.relay_batch(
        db,
        lambda _service, event: batches.append([event.id]),
        send_batch=send_batch,
        delivery_batch_size=2,
    )
    second = outbox.relay_batch(db, lambda *_: None, send_batch=send_batch, delivery_batch_size=2)

    # then the first sent all five, oldest first (the lone last one alone), the second nothing
    assert first.sent == 5
    assert first.refusal is None
    assert second.sent == 0
    assert batches == [ids[0:2], ids[2:4], ids[4:5]]
    rows = outbox_rows(db)
    assert all(rows[i]["sent_at"] is not None for i in ids)
    assert [rows[i]["attempts"] for i in ids] == [1, 1, 1, 1, 1]
    assert all(rows[i]["last_error"] is None for i in ids)


def test_a_refusal_mid_pass_leaves_the_rest_unsent_as_if_never_taken(db: Database) -> None:
    # given six events waiting, and a broker that takes one group of two and then refuses
    ids = write_events(db, 6)
    outbox = Outbox(event_tables, producer="referrals", routes=ROUTES)
    taken: list[list[str]] = []

    def flaky_batch(_service: str, events: Sequence[Event]) -> None:
        if taken:
            raise BrokerDown("connection refused")
        taken.append([event.id for event in events])

    # when a pass sends them in groups of two
    refused = outbox.relay_batch(db, lambda *_: None, send_batch=flaky_batch, delivery_batch_size=2)

    # then it reports the two sent and the refusal; the first group is marked sent,
    # the refused group is unsent with its attempt and the error, the last group
    # untouched (unsent, no attempt)
    assert refused.sent == 2
    assert isinstance(refused.refusal, BrokerDown)
    rows = outbox_rows(db)
    assert [rows[i]["sent_at"] is not None for i in ids] == [True, True] + [False] * 4
    assert [rows[i]["attempts"] for i in ids] == [1, 1, 1, 1, 0, 0]
    assert [rows[i]["last_error"] for i in ids[2:]] == ["connection refused"] * 2 + [None] * 2

    # and when the broker is back, the next pass sends exactly the four left, in order
    resent: list[str] = []
    again = outbox.relay_batch(
        db,
        lambda *_: None,
        send_batch=lambda _s, events: resent.extend(e.id for e in events),
        delivery_batch_size=2,
    )
    assert again.sent == 4
    assert again.refusal is None
    assert resent == ids[2:]
    rows = outbox_rows(db)
    assert [rows[i]["attempts"] for i in ids] == [1, 1, 2, 2, 1, 1]
    assert all(rows[i]["sent_at"] is not None and rows[i]["last_error"] is None for i in ids)

"""Reads that never wait for a writer: ``Database.reading()`` and the idle outbox relay.

On SQLite every transaction of ``Database.transaction()`` takes the file's
write lock up front (``BEGIN IMMEDIATE``); a reader that did the same would
queue behind every writer. ``reading()`` reads a snapshot instead.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, insert, select

from services.common.db import Database, new_metadata
from services.common.events import Event
from services.common.outbox import EventTables, Outbox

event_tables = EventTables(new_metadata())
PROMPT_SECONDS = 1.0


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    event_tables.outbox.metadata.create_all(database.engine)
    yield database
    database.dispose()


def outbox_row() -> dict[str, object]:
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": "referrals.share_recorded",
        "payload": {"fan_id": "fan-1"},
        "occurred_at": datetime.now(UTC),
    }


@pytest.fixture
def writer_holding_its_transaction(db: Database) -> Iterator[None]:
    """Another connection in the middle of a write (on SQLite: holding the file's lock)."""
    started, release = threading.Event(), threading.Event()

    def write() -> None:
        with db.transaction() as session:
            session.execute(insert(event_tables.outbox), [outbox_row()])
            started.set()
            release.wait(30)

    writer = threading.Thread(target=write)
    writer.start()
    assert started.wait(10)
    yield
    release.set()
    writer.join(30)


def count_outbox(db: Database) -> int:
    with db.reading() as session:
        return int(session.scalar(select(func.count()).select_from(event_tables.outbox)) or 0)


def test_a_read_does_not_wait_for_a_writer_and_sees_only_what_is_committed(
    db: Database, writer_holding_its_transaction: None
) -> None:
    # Given a writer in the middle of its transaction
    # When another session reads
    started = time.monotonic()
    seen = count_outbox(db)
    # Then it is answered at once (not after the writer commits or the 30 s busy timeout),
    # without the writer's uncommitted row
    assert time.monotonic() - started < PROMPT_SECONDS
    assert seen == 0


def test_an_idle_relay_pass_does_not_wait_for_a_writer(
    db: Database, writer_holding_its_transaction: None
) -> None:
    # Given an outbox with nothing committed to send, and a writer mid-transaction
    outbox = Outbox(event_tables, producer="referrals")
    sent: list[Event] = []
    # When the relay makes its pass (every 50 ms in the relay process)
    started = time.monotonic()
    count = outbox.relay_batch(db, lambda _service, event: sent.append(event)).sent
    # Then it finds nothing at once, instead of queueing behind the writer
    assert time.monotonic() - started < PROMPT_SECONDS
    assert count == 0
    assert sent == []


def test_the_relay_still_sends_and_marks_what_is_pending(db: Database) -> None:
    # Given two events committed to the outbox
    with db.transaction() as session:
        session.execute(insert(event_tables.outbox), [outbox_row(), outbox_row()])
    outbox = Outbox(event_tables, producer="referrals")
    sent: list[str] = []
    # When the relay makes two passes
    first = outbox.relay_batch(db, lambda service, event: sent.append(f"{service}:{event.id}")).sent
    second = outbox.relay_batch(db, lambda service, event: sent.append(event.id)).sent
    # Then the first sends each to its consumer once and the second finds nothing left
    assert first == 2
    assert second == 0
    assert len(sent) == 2
    assert all(entry.startswith("rewards:") for entry in sent)

"""The dead-letter table, for operators: look, send an event again, or let it go.

What could not be done after its retries is parked in ``dead_letters``, one row
per (kind, reference), rather than lost or retried forever
(:mod:`services.common.celery_app`, and each service's tasks). Parking is only
half the story: someone has to see the row, fix the cause, and have the work
done. This module is what ``fanfare events dead-letters`` runs.

- An *event* letter (kind ``event``) holds the whole event. Sending it again
  puts it back on the service's own queue; the consumer applies it at most once
  (``processed_events``), so a second retry, or a retry racing a late delivery,
  changes nothing. The row stays until the event is seen applied: a retry
  that fails again (the cause is not fixed yet) leaves it where it was, and a
  retry whose message is lost on the way loses nothing.
- An event letter whose event has been applied since is *resolved*. The retry
  command deletes it when it sees the event applied; the periodic purge
  (:mod:`services.common.event_retention`) deletes the ones it did not wait
  for, before the ``processed_events`` row that proves it is purged itself.
- A *task* letter (kind ``task``: an asset's processing, a delivery, a click
  the database refused) is not sent again from here: whether the task can run
  again, and what it then does, is its service's business (a failed asset is
  uploaded again; a refused click needs its data looked at). It is listed and
  shown, and discarded once handled. Nothing is ever deleted on its own.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, cast

from sqlalchemy import CursorResult, and_, delete, exists, func, select

from services.common.db import Database
from services.common.events import Event
from services.common.outbox import EventTables

EVENT_KIND: Final = "event"
TASK_KIND: Final = "task"


@dataclass(frozen=True)
class DeadLetter:
    """One parked piece of work, and whether it has been done since."""

    id: int
    kind: str
    name: str
    reference: str
    payload: dict[str, Any]
    error: str
    attempts: int
    created_at: datetime
    resolved: bool

    @property
    def error_summary(self) -> str:
        """The error's last non-empty line: for a traceback, the exception itself."""
        lines = [line.strip() for line in self.error.splitlines() if line.strip()]
        return lines[-1] if lines else ""


class DeadLetterNotFound(LookupError):
    """No dead letter has this id in this service's database."""


class NotRetryable(ValueError):
    """This dead letter cannot be sent again from here; the message says what to do."""


def _is_applied(tables: EventTables) -> Any:
    """True where the row is an event letter whose event has been applied since."""
    letters = tables.dead_letters
    processed = tables.processed
    return and_(
        letters.c.kind == EVENT_KIND,
        exists().where(processed.c.event_id == letters.c.reference),
    )


def _letters_query(tables: EventTables) -> Any:
    letters = tables.dead_letters
    return select(letters, _is_applied(tables).label("resolved"))


def _letter(row: Any) -> DeadLetter:
    return DeadLetter(
        id=int(row.id),
        kind=str(row.kind),
        name=str(row.name),
        reference=str(row.reference),
        payload=dict(row.payload or {}),
        error=str(row.error),
        attempts=int(row.attempts),
        created_at=row.created_at,
        resolved=bool(row.resolved),
    )


def list_dead_letters(
    db: Database, tables: EventTables, *, kind: str | None = None, limit: int = 50
) -> list[DeadLetter]:
    """The newest ``limit`` dead letters (of ``kind``, if given), newest first."""
    letters = tables.dead_letters
    query = _letters_query(tables).order_by(letters.c.id.desc()).limit(limit)
    if kind is not None:
        query = query.where(letters.c.kind == kind)
    with db.reading() as session:
        return [_letter(row) for row in session.execute(query)]


def count_dead_letters(db: Database, tables: EventTables) -> int:
    """How many dead letters are waiting for someone (resolved ones are not counted)."""
    letters = tables.dead_letters
    query = select(func.count()).select_from(letters).where(~_is_applied(tables))
    with db.reading() as session:
        return int(session.scalar(query) or 0)


def get_dead_letter(db: Database, tables: EventTables, letter_id: int) -> DeadLetter:
    letters = tables.dead_letters
    with db.reading() as session:
        row = session.execute(_letters_query(tables).where(letters.c.id == letter_id)).first()
    if row is None:
        raise DeadLetterNotFound(f"no dead letter has id {letter_id}")
    return _letter(row)


def discard_dead_letter(db: Database, tables: EventTables, letter_id: int) -> DeadLetter:
    """Delete a dead letter someone has dealt with; what it was."""
    letter = get_dead_letter(db, tables, letter_id)
    letters = tables.dead_letters
    with db.transaction() as session:
        session.execute(delete(letters).where(letters.c.id == letter_id))
    return letter


def event_to_send_again(db: Database, tables: EventTables, letter_id: int) -> Event:
    """The event of a dead letter, to put back on its service's queue.

    The letter stays until the event is applied (:func:`wait_until_applied`,
    :func:`delete_resolved_dead_letters`). Raises :class:`NotRetryable` for a
    task letter, or an event letter already resolved.
    """
    letter = get_dead_letter(db, tables, letter_id)
    if letter.kind != EVENT_KIND:
        raise NotRetryable(
            f"dead letter {letter_id} is a {letter.kind} ({letter.name}, {letter.reference}): "
            "only events are sent again from here. Have its service do the work again "
            "(see its README), then discard the letter."
        )
    if letter.resolved:
        raise NotRetryable(
            f"the event of dead letter {letter_id} ({letter.reference}) has been applied "
            "since; there is nothing to send. Discard the letter, or let the purge remove it."
        )
    return Event.from_message(letter.payload)


def wait_until_applied(
    db: Database, tables: EventTables, event_id: str, *, timeout_seconds: float
) -> bool:
    """Wait for ``event_id`` to be applied; True if it was within the timeout."""
    processed = tables.processed
    query = select(exists().where(processed.c.event_id == event_id))
    deadline = time.monotonic() + timeout_seconds
    while True:
        with db.reading() as session:
            if session.scalar(query):
                return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.2)


def delete_resolved_dead_letters(db: Database, tables: EventTables) -> int:
    """Delete the event letters whose event has been applied since; how many went.

    Run before ``processed_events`` is purged: its rows are what prove an
    event applied. Dead letters are few (each is an incident), so one
    statement does it.
    """
    letters = tables.dead_letters
    with db.transaction() as session:
        result = session.execute(delete(letters).where(_is_applied(tables)))
        return int(cast(CursorResult[Any], result).rowcount)

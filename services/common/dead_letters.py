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
  the database refused) can be redone only where its service says how: the
  task left its work FAILED so that nobody waits on it, and only the service
  knows how to put that work back. A service registers a :data:`TaskRedo` per
  task name (``runtime.task_redoers``): in one transaction it puts the work
  back (FAILED -> PENDING) and the letter is deleted, then the task is sent
  again; should that send be lost, the service's periodic sweep of pending
  work sends it. If the task fails again it is parked again, in a new letter.
  Other task letters (a click the database refused needs its data looked
  at) are listed, shown, and discarded once handled. Nothing is ever deleted
  on its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, cast

from sqlalchemy import CursorResult, and_, delete, exists, func, select
from sqlalchemy.orm import Session

from services.common.db import Database
from services.common.events import Event
from services.common.outbox import EventTables

EVENT_KIND: Final = "event"
TASK_KIND: Final = "task"

# Puts a dead-lettered task's work back to be done, given the letter's payload (the
# task's keyword arguments), inside the caller's transaction; False when there is
# nothing to put back (the work was done or cancelled since).
TaskRedo = Callable[[Session, dict[str, Any]], bool]


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
        raise NotRetryable(f"dead letter {letter_id} is a task: it is redone, not sent again")
    if letter.resolved:
        raise NotRetryable(
            f"the event of dead letter {letter_id} ({letter.reference}) has been applied "
            "since; there is nothing to send. Discard the letter, or let the purge remove it."
        )
    return Event.from_message(letter.payload)


def redo_task(
    db: Database, tables: EventTables, redoers: Mapping[str, TaskRedo], letter_id: int
) -> DeadLetter:
    """Put a dead-lettered task's work back and delete its letter, in one transaction.

    The caller then sends the task again (its name and the letter's payload as
    keyword arguments). Raises :class:`NotRetryable` for an event letter, a
    task its service cannot redo, or work that is no longer failed.
    """
    letter = get_dead_letter(db, tables, letter_id)
    if letter.kind != TASK_KIND:
        raise NotRetryable(f"dead letter {letter_id} is an event: it is sent again, not redone")
    redo = redoers.get(letter.name)
    if redo is None:
        raise NotRetryable(
            f"dead letter {letter_id} is a {letter.name} task ({letter.reference}), which its "
            "service cannot redo from here: see its README, then discard the letter."
        )
    letters = tables.dead_letters
    with db.transaction() as session:
        gone = session.execute(delete(letters).where(letters.c.id == letter_id))
        if cast(CursorResult[Any], gone).rowcount != 1:
            raise DeadLetterNotFound(f"no dead letter has id {letter_id}")
        if not redo(session, letter.payload):
            raise NotRetryable(
                f"the work of dead letter {letter_id} ({letter.reference}) is no longer failed: "
                "it was done or cancelled since. Discard the letter."
            )
    return letter


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

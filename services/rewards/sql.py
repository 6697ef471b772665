"""Small SQL helpers the rewards domain shares, the same on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Table, event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

_AFTER_COMMIT = "rewards.after_commit"


def insert_ignoring_conflicts(session: Session, table: Table) -> Any:
    """``INSERT ... ON CONFLICT DO NOTHING``; add ``.returning(...)`` to learn if a row went in.

    RETURNING rather than rowcount: psycopg reports -1 for ON CONFLICT DO NOTHING.
    """
    if session.get_bind().dialect.name == "postgresql":
        return pg_insert(table).on_conflict_do_nothing()
    return sqlite_insert(table).on_conflict_do_nothing()


def is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def run_after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run ``callback`` once the session's transaction has committed, never if it rolls back.

    Tasks that read what this transaction writes must not be sent before it
    commits, or a fast worker would find nothing and give up.
    """
    callbacks: list[Callable[[], None]] | None = session.info.get(_AFTER_COMMIT)
    if callbacks is None:
        callbacks = session.info[_AFTER_COMMIT] = []
        event.listen(session, "after_commit", _run_callbacks)
        event.listen(session, "after_rollback", _drop_callbacks)
    callbacks.append(callback)


def _run_callbacks(session: Session) -> None:
    callbacks = session.info.pop(_AFTER_COMMIT, [])
    event.remove(session, "after_commit", _run_callbacks)
    event.remove(session, "after_rollback", _drop_callbacks)
    for callback in callbacks:
        callback()


def _drop_callbacks(session: Session) -> None:
    session.info.pop(_AFTER_COMMIT, None)
    event.remove(session, "after_commit", _run_callbacks)
    event.remove(session, "after_rollback", _drop_callbacks)

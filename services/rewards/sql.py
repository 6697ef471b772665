"""Small SQL helpers the rewards domain shares, the same on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session

from services.rewards.interfaces import TaskQueue

log = logging.getLogger(__name__)

_AFTER_COMMIT = "rewards.after_commit"
_LISTENING = "rewards.after_commit_listening"


def run_after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run ``callback`` once the session's transaction has committed, never if it rolls back.

    Tasks that read what this transaction writes must not be sent before it
    commits, or a fast worker would find nothing and give up.
    """
    if not session.info.get(_LISTENING):
        # Listeners stay for the session's life: removing one while SQLAlchemy
        # dispatches the event would mutate the list it iterates.
        event.listen(session, "after_commit", _run_callbacks)
        event.listen(session, "after_rollback", _drop_callbacks)
        session.info[_LISTENING] = True
    session.info.setdefault(_AFTER_COMMIT, []).append(callback)


def _run_callbacks(session: Session) -> None:
    for callback in session.info.pop(_AFTER_COMMIT, []):
        callback()


def _drop_callbacks(session: Session) -> None:
    session.info.pop(_AFTER_COMMIT, None)


def enqueue_after_commit(
    session: Session, queue: TaskQueue | None, task: str, *args: object
) -> None:
    """Send a task once the transaction commits; if the broker is down, a sweep sends it later."""
    if queue is None:
        return

    def send() -> None:
        try:
            queue.enqueue(task, *args)
        except Exception as exc:
            log.warning("could not enqueue %s%s now (%s); the sweep will", task, args, exc)

    run_after_commit(session, send)

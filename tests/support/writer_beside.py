"""A writer caught mid-transaction, and a read that must answer beside it.

On SQLite a transaction of ``Database.transaction()`` holds the file's write
lock from its first statement; a read that took the lock too would wait for
that writer (up to the 30 s busy timeout). Tests of ``Database.reading()``
paths hold a write open with :func:`writer_holding_its_transaction` and call
the read through :func:`answered_promptly`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from services.common.db import Database

PROMPT_SECONDS = 3.0

Answer = TypeVar("Answer")


@contextmanager
def writer_holding_its_transaction(db: Database, statement: Any) -> Iterator[None]:
    """Another connection that has run ``statement`` and not yet committed, until the end."""
    started, release = threading.Event(), threading.Event()

    def write() -> None:
        with db.transaction() as session:
            session.execute(statement)
            started.set()
            release.wait(60)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    assert started.wait(10), "the writer never began its transaction"
    try:
        yield
    finally:
        release.set()
        writer.join(60)


def answered_promptly(call: Callable[[], Answer]) -> Answer:
    """``call``'s answer, failing (instead of hanging) if it waits for the writer."""
    answers: list[Answer] = []
    reader = threading.Thread(target=lambda: answers.append(call()), daemon=True)
    reader.start()
    reader.join(PROMPT_SECONDS)
    assert answers, f"no answer within {PROMPT_SECONDS} s: the read waited for the writer"
    return answers[0]

"""Clicks leave the web process in batches, off the request path.

The redirect appends a click to this process's buffer and answers. A background
thread sends the buffer to the Redis stream in one pipelined call when it holds
``CLICK_BUFFER_SIZE`` clicks, or every ``CLICK_FLUSH_INTERVAL_SECONDS``, and once
more when the process exits; a request never waits for it. If Redis refuses a
batch it is written to the database directly; if that fails too the batch stays
in the buffer for the next try. Only a process killed outright (SIGKILL, power
loss) can lose the clicks of its last flush interval.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import weakref
from collections.abc import Sequence

from sqlalchemy.exc import SQLAlchemyError

from services.common.db import Database
from services.common.outbox import Outbox
from services.referrals.clicks import Click
from services.referrals.ingest import store_clicks
from services.referrals.interfaces import ClickSink, ClickSinkUnavailable

log = logging.getLogger(__name__)

# Past this many clicks held back by a double outage, the oldest are dropped (and logged):
# memory must stay bounded. At 5,000 clicks a second that is twenty seconds of clicks.
MAX_HELD_CLICKS = 100_000


class DatabaseClickSink:
    """Writes clicks straight into the clicks table: the path used when Redis is down."""

    def __init__(self, db: Database, outbox: Outbox | None) -> None:
        self.db = db
        self.outbox = outbox

    def push(self, clicks: Sequence[Click]) -> None:
        try:
            store_clicks(self.db, clicks, outbox=self.outbox)
        except SQLAlchemyError as exc:
            raise ClickSinkUnavailable(str(exc)) from exc


class ClickBuffer:
    def __init__(
        self,
        primary: ClickSink,
        fallback: ClickSink,
        *,
        batch_size: int,
        flush_interval: float,
    ) -> None:
        self.primary = primary
        self.fallback = fallback
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self._pending: list[Click] = []
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._owner_pid: int | None = None
        self._thread: threading.Thread | None = None
        # A forked child inherits the buffer but not its thread: it starts its own on its
        # first click. Checked here rather than with os.getpid() on every click (a system
        # call per redirect).
        buffer = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: _forget_thread(buffer))

    def add(self, click: Click) -> None:
        """Queue ``click``; never waits on Redis or the database (the request is answering)."""
        self._ensure_flusher()
        with self._lock:
            self._pending.append(click)
            full = len(self._pending) >= self.batch_size
        if full:
            # The flusher sends it now; flushing here would make this request wait for
            # Redis, and for any other flush in progress.
            self._wake.set()

    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def flush(self) -> int:
        """Send what the buffer holds; return how many clicks left the process."""
        with self._flush_lock:
            with self._lock:
                batch, self._pending = self._pending, []
            if not batch:
                return 0
            try:
                self.primary.push(batch)
                return len(batch)
            except ClickSinkUnavailable as exc:
                log.warning("click stream unavailable (%s); writing %d clicks", exc, len(batch))
            try:
                self.fallback.push(batch)
                return len(batch)
            except ClickSinkUnavailable as exc:
                self._hold_back(batch, exc)
                return 0

    def _hold_back(self, batch: list[Click], error: Exception) -> None:
        with self._lock:
            self._pending = batch + self._pending
            overflow = len(self._pending) - MAX_HELD_CLICKS
            if overflow > 0:
                del self._pending[:overflow]
        log.error(
            "clicks held in memory: stream and database both refused them (%s)%s",
            error,
            f"; {overflow} oldest dropped" if overflow > 0 else "",
        )

    def _ensure_flusher(self) -> None:
        if self._thread is not None:
            return
        pid = os.getpid()
        with self._lock:
            if self._owner_pid == pid:
                return
            # A forked child inherits the parent's buffer but not its thread.
            self._owner_pid = pid
            self._thread = threading.Thread(
                target=self._run, name="click-buffer-flush", daemon=True
            )
            self._thread.start()
            atexit.register(self.flush)

    def _run(self) -> None:
        while True:
            self._wake.wait(self.flush_interval)
            self._wake.clear()
            try:
                self.flush()
            except Exception:
                log.exception("click buffer flush failed")


def _forget_thread(buffer: weakref.ref[ClickBuffer]) -> None:
    alive = buffer()
    if alive is not None:
        alive._thread = None

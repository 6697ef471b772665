"""The relay process: a service's outbox sent to the broker within tens of milliseconds.

``fanfare relay SERVICE`` runs :class:`OutboxRelayLoop`: every
``OUTBOX_RELAY_POLL_SECONDS`` (0.05) it does what the beat task
``<service>.relay_outbox`` does (:func:`~services.common.celery_app.relay_outbox_now`),
sleeping only what is left of the interval. The beat task stays as the safety
net: with a relay process running, ``OUTBOX_RELAY_INTERVAL_SECONDS`` may stay
at its 1 s default, and if the process is down events still leave within it.

Two relays at once (this loop and beat, or two loops) are safe: on PostgreSQL
each pass locks the rows it sends with ``SKIP LOCKED``, so no event goes out
twice; on SQLite two passes may send the same event, and consumers, which
apply an event once per id, absorb it.

On PostgreSQL the loop does not only poll: it LISTENs on its outbox's
channel (:attr:`~services.common.outbox.Outbox.wakeup_channel`, which every
outbox write notifies at its commit) and runs a pass as soon as a
notification comes, but never sooner than ``OUTBOX_RELAY_MIN_GAP_SECONDS``
after the last pass began, so a burst of writes makes one pass, not one pass
per write; a pass that sent something is followed by another after that gap,
until one finds nothing (a process notifies at most every
``NOTIFY_GAP_SECONDS``, under the gap, so the writes of a stream that did not
notify are caught by that next pass). The poll stays: a notification lost (the listening connection
broken, a write that did not notify) delays an event by at most the poll
interval, never loses it. SQLite only polls.

A pass falls due but waits while the consumers are behind: as long as every
queue the outbox feeds still holds a task no worker has taken (its Redis list
is not empty; a worker takes tasks only as it has room, so a waiting task
means every process is busy), the loop looks again every
``HOLD_CHECK_SECONDS`` and runs the pass as soon as one is taken, or after
``OUTBOX_RELAY_HOLD_SECONDS`` (0.1) in any case. The events written
meanwhile then go out as one task instead of several small ones queued
behind the first, each of which would cost the worker its fixed share of a
task (Celery's hand-off, a transaction, a commit): under load that share
was a third of the machine. An event held so would have waited in the queue
anyway; a consumer that is idle, or a queue another worker drains, holds
nothing up.

An outage does not end the loop: a broker or database error is logged once
when the outage begins (and once when it ends), and the loop tries again
after a backoff that doubles up to ``max_backoff_seconds``. While the broker
is down it only pings it, so no pass runs (nor logs) until it answers. What
was written meanwhile waits in the outbox and goes out on the first pass after.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Protocol

import psycopg
from celery import Celery
from psycopg import sql
from redis.exceptions import RedisError
from sqlalchemy.engine import URL

from services.common.celery_app import RelayReport, backoff_seconds, relay_outbox_now
from services.common.outbox import Outbox
from services.common.runtime import ServiceRuntime

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 5.0
# The first wait after a failure: short, so a blip costs little latency.
FIRST_BACKOFF_SECONDS = 0.1
# How often a pass also looks for events sent long ago and never confirmed
# (EVENT_CONFIRM_GRACE_SECONDS, 600 s by default): as often as beat's relay
# did, rather than every pass; it cost a Redis round trip or two each time.
OVERDUE_CHECK_SECONDS = 1.0
# While a pass is held back (see the module's docstring), how often the loop looks
# whether the consumers took the task waiting on their queue.
HOLD_CHECK_SECONDS = 0.005
# The longest a wait for a notification goes without looking at the stop signal.
STOP_CHECK_SECONDS = 0.1
# After the listening connection failed, how long the loop only polls before it
# connects again.
RELISTEN_SECONDS = 1.0


class OutboxWakeups:
    """A PostgreSQL connection LISTENing on an outbox's channel: waits until it is written.

    Opened lazily and opened again (at most every ``RELISTEN_SECONDS``) after
    a failure; meanwhile :meth:`wait` just sleeps, so the loop polls as before.
    """

    def __init__(self, url: URL, channel: str, stop_signal: StopSignal) -> None:
        self.conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.channel = channel
        self._stop = stop_signal
        self._connection: psycopg.Connection[object] | None = None
        self._retry_at = 0.0

    def before_pass(self) -> None:
        """LISTEN (if not yet), and forget what was received: the pass about to run covers it.

        Listening before the pass means nothing committed after it goes unnoticed.
        """
        if self._connection is not None:
            try:
                for _ in self._connection.notifies(timeout=0):
                    pass
            except psycopg.Error as exc:
                self._fail(exc)
            return
        if time.monotonic() < self._retry_at:
            return
        try:
            connection = psycopg.connect(self.conninfo, autocommit=True)
            connection.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
        except psycopg.Error as exc:
            self._fail(exc)
            return
        self._connection = connection

    def wait(self, seconds: float) -> bool:
        """Wait up to ``seconds`` for a notification (or the stop signal); True if one came.

        The notifications received with it are left for :meth:`before_pass`.
        """
        deadline = time.monotonic() + seconds
        while not self._stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            if self._connection is None:
                self._stop.wait(remaining)
                return False
            try:
                if any(
                    True
                    for _ in self._connection.notifies(
                        timeout=min(remaining, STOP_CHECK_SECONDS), stop_after=1
                    )
                ):
                    return True
            except psycopg.Error as exc:
                self._fail(exc)
        return False

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _fail(self, error: Exception) -> None:
        log.warning(
            "outbox relay: not listening on %s (%s); polling only, listening again in %.3gs",
            self.channel,
            error,
            RELISTEN_SECONDS,
        )
        self.close()
        self._retry_at = time.monotonic() + RELISTEN_SECONDS


class StopSignal(Protocol):
    """What stops the loop: a ``threading.Event`` or a ``multiprocessing`` one."""

    def is_set(self) -> bool: ...

    def set(self) -> None: ...

    def wait(self, timeout: float | None = None) -> bool: ...


class OutboxRelayLoop:
    """Relays one service's outbox every ``poll_seconds`` until stopped."""

    def __init__(
        self,
        runtime: ServiceRuntime,
        celery: Celery,
        *,
        poll_seconds: float | None = None,
        min_gap_seconds: float | None = None,
        hold_seconds: float | None = None,
        outbox: Outbox | None = None,
        stop_signal: StopSignal | None = None,
        max_backoff_seconds: float = MAX_BACKOFF_SECONDS,
    ) -> None:
        self.runtime = runtime
        self.celery = celery
        self.outbox = outbox if outbox is not None else runtime.outbox
        if self.outbox is None:
            raise ValueError(f"{runtime.service} has no outbox: there is nothing to relay")
        self.poll_seconds = (
            poll_seconds if poll_seconds is not None else runtime.settings.outbox_relay_poll_seconds
        )
        if self.poll_seconds <= 0:
            raise ValueError(f"poll_seconds must be above 0, not {self.poll_seconds}")
        self.min_gap_seconds = (
            min_gap_seconds
            if min_gap_seconds is not None
            else runtime.settings.outbox_relay_min_gap_seconds
        )
        self.hold_seconds = (
            hold_seconds if hold_seconds is not None else runtime.settings.outbox_relay_hold_seconds
        )
        self._consumer_queues = self.outbox.consumer_queues
        self._held_since: float | None = None
        self.held_passes = 0
        self.max_backoff_seconds = max_backoff_seconds
        self._stop: StopSignal = stop_signal if stop_signal is not None else threading.Event()
        self._failures = 0
        self._outage: str | None = None  # "broker" or "database" while one lasts
        self._outage_began = 0.0
        self._overdue_checked = float("-inf")
        self.wakeups: OutboxWakeups | None = None
        if runtime.db.dialect == "postgresql":
            self.wakeups = OutboxWakeups(
                runtime.db.engine.url, self.outbox.wakeup_channel, self._stop
            )
        self.passes = 0
        self.sent = 0

    def stop(self) -> None:
        """End the loop after the pass under way (at once if it is waiting)."""
        self._stop.set()

    @property
    def service(self) -> str:
        """The producer whose outbox this loop relays (the service's own, in production)."""
        assert self.outbox is not None
        return self.outbox.producer

    def run(self) -> None:
        """Relay at every notification and every ``poll_seconds`` until :meth:`stop`.

        Outages only slow it down.
        """
        log.info(
            "outbox relay of %s: every %.3gs%s",
            self.service,
            self.poll_seconds,
            " and when notified" if self.wakeups is not None else "",
        )
        try:
            while not self._stop.is_set():
                if self._holding_back():
                    self._stop.wait(HOLD_CHECK_SECONDS)
                    continue
                started = time.monotonic()
                if self.wakeups is not None:
                    self.wakeups.before_pass()
                sent_before = self.sent
                if not self.relay_once():
                    self._stop.wait(
                        backoff_seconds(
                            max(FIRST_BACKOFF_SECONDS, self.poll_seconds),
                            # bounded: 2**n of a long outage's count would overflow a float
                            min(self._failures - 1, 16),
                            cap=self.max_backoff_seconds,
                        )
                    )
                    continue
                self._wait_for_work(started, found_work=self.sent > sent_before)
        finally:
            if self.wakeups is not None:
                self.wakeups.close()
        log.info("outbox relay of %s stopped", self.service)

    def _holding_back(self) -> bool:
        """Whether the pass now due waits: the consumers are behind, and not for too long."""
        if self.hold_seconds <= 0 or not self._consumer_queues:
            return False
        now = time.monotonic()
        if self._held_since is not None and now - self._held_since >= self.hold_seconds:
            self._held_since = None
            return False
        if not self._consumers_behind():
            self._held_since = None
            return False
        if self._held_since is None:
            self._held_since = now
            self.held_passes += 1
        return True

    def _consumers_behind(self) -> bool:
        """True while every queue the outbox feeds holds a task no worker has taken."""
        try:
            with self.runtime.redis.pipeline(transaction=False) as pipeline:
                for queue in self._consumer_queues:
                    pipeline.llen(queue)
                lengths = pipeline.execute()
        except RedisError:
            return False  # the pass runs, and meets (and reports) the outage
        return all(int(length) > 0 for length in lengths)

    def _wait_for_work(self, pass_started: float, *, found_work: bool) -> None:
        """Until the next pass is due.

        Polling only (SQLite): the next poll. Listening: after a pass that sent
        something, the minimum gap (more may have been written meanwhile whose
        notification was folded into an earlier one, see
        ``Outbox._notify_relay``); after an empty pass, a notification (but no
        sooner than the minimum gap) or the next poll.
        """
        next_poll = pass_started + self.poll_seconds
        earliest = pass_started + self.min_gap_seconds
        if self.wakeups is None:
            self._sleep_until(next_poll)
        elif found_work or self.wakeups.wait(next_poll - time.monotonic()):
            self._sleep_until(earliest)

    def _sleep_until(self, moment: float) -> None:
        wait = moment - time.monotonic()
        if wait > 0:
            self._stop.wait(wait)

    def run_until_signalled(self) -> None:
        """:meth:`run` until SIGTERM or SIGINT (from the main thread), which stop it."""
        with _stopping_on_signals(self):
            self.run()

    def relay_once(self) -> bool:
        """One pass (everything pending, as the beat task does); False during an outage."""
        if self._outage == "broker" and not self._broker_answers():
            self._failures += 1
            return False
        now = time.monotonic()
        check_overdue = now - self._overdue_checked >= OVERDUE_CHECK_SECONDS
        try:
            report = relay_outbox_now(
                self.runtime, self.celery, outbox=self.outbox, check_overdue=check_overdue
            )
        except Exception as exc:  # the database (or anything else): try again later
            self._note_outage("database", exc)
            return False
        if check_overdue:
            self._overdue_checked = now
        self.passes += 1
        self.sent += report.sent
        if report.broker_error is not None:
            self._note_outage("broker", report.broker_error)
            return False
        self._note_recovery(report)
        return True

    def _broker_answers(self) -> bool:
        try:
            self.runtime.redis.ping()
        except RedisError:
            return False
        return True

    def _note_outage(self, kind: str, error: Exception) -> None:
        self._failures += 1
        if self._outage == kind:
            log.debug("outbox relay of %s: %s still unreachable: %s", self.service, kind, error)
            return
        if self._outage is None:
            self._outage_began = time.monotonic()
        self._outage = kind
        log.warning(
            "outbox relay of %s paused: the %s is unreachable (%s); retrying with a backoff "
            "of up to %.3gs, events wait in the outbox",
            self.service,
            kind,
            error,
            self.max_backoff_seconds,
            exc_info=kind == "database",
        )

    def _note_recovery(self, report: RelayReport) -> None:
        self._failures = 0
        if self._outage is None:
            return
        # at the pause's level, so that whoever sees the one sees the other
        log.warning(
            "outbox relay of %s resumed: the %s answers again after %.1fs; %d events sent",
            self.service,
            self._outage,
            time.monotonic() - self._outage_began,
            report.sent,
        )
        self._outage = None


@contextmanager
def _stopping_on_signals(loop: OutboxRelayLoop) -> Iterator[None]:
    """SIGTERM and SIGINT stop ``loop`` after its current pass (handlers restored after)."""

    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        loop.stop()  # only: a handler that logs could re-enter a log call it interrupted

    previous = {
        signum: signal.signal(signum, request_stop) for signum in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

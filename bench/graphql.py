"""Benchmark: the portal's home query through the gateway, against the real services.

For N = 10, 50 and 200 packs (200 = two pages of 100, the page limit) it
prints backend calls per query, queries per second, p50/p99 latency and the
gateway's CPU time per query; beside them, measured in the same run: the same
query executed in-process on canned data (the floor: schema, resolvers and
loaders with no HTTP anywhere), and each backend's own p50 for the calls the
gateway makes. The query's p50 is compared with the backend chain one query
at a time (under load it would include queueing in front of the busiest
service). At N = 200 the chain's content step is content answering both pages
of 100, asked at once as the gateway asks them (they do not depend on each
other); one page alone is printed beside it in parentheses, off the chain's
sum. The floor is measured in this process after the same ``gc.freeze`` of
start-up objects that the gateway's workers do, with the caller's user handed
in as authentication hands it to a served request (until 2026-11-23 07:10 the
floor read that user from the gateway's database on every query, ~1 ms that
the served query never pays, which made the floor higher than the issue's
"same query on canned data"). The gateway's peak resident
memory is read from /proc (VmHWM). The CPU per query of each of the four
processes over the loaded run shows where a query's cost goes, and the load
average before and after says how noisy it was.

Every app runs under gunicorn in its own process on SQLite, with a real Redis.
Run: .venv/bin/python bench/graphql.py [--seconds 5] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import psutil
import requests

ROOT = Path(__file__).resolve().parents[1]
# This file is named like the graphql package: keep its folder off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from fanfare.embedded import EmbeddedRedis, free_port  # noqa: E402
from gateway.app import create_app as create_gateway_app  # noqa: E402
from gateway.core.context import Caller, GraphQLContext  # noqa: E402
from gateway.core.engine import OperationRequest  # noqa: E402
from gateway.core.loaders import RequestLoaders  # noqa: E402
from gateway.identity.users import create_user  # noqa: E402
from gateway.models import User  # noqa: E402
from gateway.settings import GatewaySettings  # noqa: E402
from services.common import migrations  # noqa: E402
from services.common.gc_freeze import freeze_startup_objects  # noqa: E402
from services.common.internal_auth import Principal, issue_internal_token  # noqa: E402
from tests.gateway.platform import CREATE_LINK, CallCounter, Services, publish_packs, service_apps  # noqa: E402  # noqa: E402

SECRET = "bench-internal-token-secret-0123456789-abcdefghijklmnop"  # noqa: S105
PASSWORD = "bench password 123"  # noqa: S105
PAGE = """
    totalCount
    pageInfo { endCursor }
    edges { node { id title summary purpose locked
      viewerLink { code shortUrl stats { humanClicks conversions } } } }
"""
HOME = f"""
query Home($n: Int!) {{
  viewer {{ user {{ displayName pointsBalance tier }} }}
  contentPacks(first: $n) {{ {PAGE} }}
}}
"""
HOME_200 = f"""
query Home200($after: String!) {{
  viewer {{ user {{ displayName pointsBalance tier }} }}
  first100: contentPacks(first: 100) {{ {PAGE} }}
  next100: contentPacks(first: 100, after: $after) {{ {PAGE} }}
}}
"""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextmanager
def gunicorn(module: str, port: int, env: dict[str, str], workers: int = 1) -> Iterator[int]:
    process = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--worker-class",
            "gthread",
            "--threads",
            "8",
            "--log-level",
            "warning",
            f"{module}:app",
        ],
        env={**os.environ, **env},
        cwd=ROOT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        else:
            raise RuntimeError(f"{module} did not start")
        yield process.pid
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(10)


def cpu_seconds(pid: int) -> float:
    parent = psutil.Process(pid)
    total = 0.0
    for proc in [parent, *parent.children(recursive=True)]:
        times = proc.cpu_times()
        total += times.user + times.system
    return total


def peak_rss_mb(pid: int) -> float:
    """The largest resident set any of the server's processes reached (VmHWM), in MB."""
    parent = psutil.Process(pid)
    peaks = []
    for proc in [parent, *parent.children(recursive=True)]:
        status = Path(f"/proc/{proc.pid}/status").read_text()
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]) / 1024)
    return max(peaks, default=0.0)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def load(
    url: str, token: str, body: dict[str, Any], seconds: float, concurrency: int
) -> dict[str, float]:
    latencies: list[float] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    failures: list[str] = []

    def worker() -> None:
        session = requests.Session()
        headers = {"Authorization": f"Bearer {token}"}
        while True:  # at least one query each, however slow
            started = time.perf_counter()
            response = session.post(url, json=body, headers=headers, timeout=30)
            took = time.perf_counter() - started
            with lock:
                if response.status_code == 200 and "errors" not in response.json():
                    latencies.append(took)
                else:
                    failures.append(response.text[:300])
            if time.monotonic() >= stop_at:
                break

    started = time.monotonic()
    with ThreadPoolExecutor(concurrency) as pool:
        for _ in range(concurrency):
            pool.submit(worker)
    elapsed = time.monotonic() - started
    if failures:
        log(f"{len(failures)} incomplete answers, e.g. {failures[0]}")
    if not latencies:
        raise RuntimeError(f"no complete answer in {seconds} s: {failures[:1]}")
    return {
        "queries": len(latencies),
        "qps": len(latencies) / elapsed,
        "p50_ms": percentile(latencies, 0.5) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
    }


def sequential_p50(call: Any, repeat: int = 60) -> float:
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings) * 1000


class CannedBackend:
    """Answers the recorded bodies of the real services, in-process: the floor."""

    def __init__(self, service: str, answers: dict[tuple[str, str], Any]) -> None:
        self.service = service
        self.answers = answers

    def call(self, method: str, path: str, principal: Any, *, params: Any = None, **_: Any) -> Any:
        return self.answers[(method, path)]


class RecordingBackend:
    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.service = inner.service
        self.answers: dict[tuple[str, str], Any] = {}

    def call(self, method: str, path: str, principal: Any, **kwargs: Any) -> Any:
        body = self.inner.call(method, path, principal, **kwargs)
        self.answers[(method, path)] = body
        return body


def floor_cpu_ms(
    gateway_app: Any, fan: Principal, body: dict[str, Any], repeat: int = 200
) -> float:
    """CPU per query of the same operation in-process, on canned answers (no HTTP)."""
    service = gateway_app.extensions["fanfare.graphql"]
    # As served, authentication hands the request its user (the token's owner), so
    # `viewer` reads no database; the floor gets it the same way, read once here.
    with service.db.transaction() as session:
        user = session.get(User, fan.user_id)
    caller = Caller(fan, user=user)

    def run(backends: dict[str, Any]) -> Any:
        context = GraphQLContext(
            caller=caller,
            settings=service.settings,
            db=service.db,
            backends=backends,
            loaders=RequestLoaders(None),
            redis=service.redis,
        )
        return service.engine.run(
            OperationRequest(body["query"], body.get("variables")), context, http_method="POST"
        )

    recorders = {name: RecordingBackend(client) for name, client in service.backends.items()}
    first = run(recorders)
    assert "errors" not in first.body, first.body
    canned = {name: CannedBackend(name, rec.answers) for name, rec in recorders.items()}
    with gateway_app.app_context():
        run(canned)
        started = time.process_time()
        for _ in range(repeat):
            run(canned)
        return (time.process_time() - started) / repeat * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()

    load_before = os.getloadavg()
    base = Path(tempfile.mkdtemp(prefix="fanfare-bench-"))
    redis_server = EmbeddedRedis(base / "redis").start()
    try:
        run(base, redis_server.url, args.seconds, args.concurrency)
    finally:
        redis_server.stop()
    load_after = os.getloadavg()
    print(
        f"\nload average (1, 5, 15 min) before the run: {load_before[0]:.2f} {load_before[1]:.2f} "
        f"{load_before[2]:.2f}; after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f} "
        f"(this run adds up to 2)"
    )


def run(base: Path, redis_url: str, seconds: float, concurrency: int) -> None:
    common = {
        "REDIS_URL": redis_url,
        "INTERNAL_TOKEN_SECRET": SECRET,
        "FANFARE_ENV": "test",
        "LOG_LEVEL": "WARNING",
        "LOG_FORMAT": "text",
    }
    apps = service_apps(base / "services", redis_url, SECRET)
    ports = {name: free_port() for name in ("content", "referrals", "rewards", "gateway")}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    gateway_db = f"sqlite:///{base / 'gateway.db'}"
    migrations.upgrade(ROOT / "gateway" / "migrations", gateway_db)
    envs = {
        "content": {
            "DATABASE_URL": apps["content"].extensions["fanfare"].db.url,
            "STORAGE_URL": f"file://{base / 'services' / 'files'}",
            "CONTENT_ALLOWED_HOSTS": "shop.example,.shop.example",
            "SHORT_LINK_HOST": "fan.example",
            "CONTENT_PUBLIC_URL": "http://content.test",
        },
        "referrals": {
            "DATABASE_URL": apps["referrals"].extensions["fanfare"].db.url,
            "SHORT_LINK_BASE_URL": "https://fan.example",
        },
        "rewards": {"DATABASE_URL": apps["rewards"].extensions["fanfare"].db.url},
        "gateway": {
            "DATABASE_URL": gateway_db,
            "CONTENT_URL": urls["content"],
            "REFERRALS_URL": urls["referrals"],
            "REWARDS_URL": urls["rewards"],
            "API_KEY_BURST": "100000",
            # The machine is shared and the services run on SQLite: a page of 100 packs
            # under load takes content longer than the production default of 1.5 s.
            "BACKEND_TIMEOUT_SECONDS": "10",
        },
    }
    modules = {
        "content": "services.content.wsgi",
        "referrals": "services.referrals.wsgi",
        "rewards": "services.rewards.wsgi",
        "gateway": "gateway.wsgi",
    }
    with ExitStack() as stack:
        pids = {
            name: stack.enter_context(
                gunicorn(modules[name], ports[name], {**common, **envs[name]})
            )
            for name in ("content", "referrals", "rewards", "gateway")
        }
        measure(base, apps, urls, pids, redis_url, seconds, concurrency)


def measure(  # noqa: PLR0917 - one call site, every figure it needs
    base: Path,
    apps: dict[str, Any],
    urls: dict[str, str],
    pids: dict[str, int],
    redis_url: str,
    seconds: float,
    concurrency: int,
) -> None:
    settings = GatewaySettings(
        environment="test",
        database_url=f"sqlite:///{base / 'gateway.db'}",
        redis_url=redis_url,
        internal_token_secret=SECRET,
        content_url=urls["content"],
        referrals_url=urls["referrals"],
        rewards_url=urls["rewards"],
        log_level="WARNING",
        login_limit_per_ip=1000,
        # The in-process gateway only records answers for the floor: wait for a busy machine.
        backend_timeout_seconds=10,
    )
    gateway = create_gateway_app(settings)
    client = gateway.test_client()
    apps["content"].extensions["content"].enqueue_processing = lambda _asset_id: None
    services = Services(
        urls=urls, counters={n: CallCounter(a.wsgi_app) for n, a in apps.items()}, apps=apps
    )
    with gateway.extensions["fanfare"].db.transaction() as session:
        create_user(
            session,
            email="mia@brand.example",
            password=PASSWORD,
            display_name="Mia",
            role="marketer",
        )
        fan_user = create_user(
            session, email="ann@example.com", password=PASSWORD, display_name="Ann", role="fan"
        )
    gql = f"{urls['gateway']}/graphql"

    def log_in(email: str) -> str:
        body = {
            "query": "mutation ($e: String!, $p: String!) "
            "{ logIn(input: {email: $e, password: $p}) { token } }",
            "variables": {"e": email, "p": PASSWORD},
        }
        return str(requests.post(gql, json=body, timeout=10).json()["data"]["logIn"]["token"])

    marketer, fan = log_in("mia@brand.example"), log_in("ann@example.com")
    log("seeding 200 published packs (upload, renditions, publish) ...")
    pack_ids = publish_packs(services, client, marketer, 200)
    services.deliver_events()
    for pack_id in pack_ids[::10]:
        response = client.post(
            "/graphql",
            json={"query": CREATE_LINK, "variables": {"packId": pack_id}},
            headers={"Authorization": f"Bearer {fan}"},
        )
        assert response.get_json()["data"]["createReferralLink"]["errors"] == []

    fan_principal = Principal(role="fan", user_id=fan_user.id)
    page = requests.post(
        gql,
        json={"query": HOME, "variables": {"n": 100}},
        headers={"Authorization": f"Bearer {fan}"},
        timeout=10,
    ).json()
    after = page["data"]["contentPacks"]["pageInfo"]["endCursor"]
    bodies = {
        10: {"query": HOME, "variables": {"n": 10}},
        50: {"query": HOME, "variables": {"n": 50}},
        200: {"query": HOME_200, "variables": {"after": after}},
    }

    # The gateway's workers hide their start-up objects from the collector
    # (gateway.wsgi); the floor is measured in this process under the same policy.
    freeze_startup_objects()
    rows = []
    for n, body in bodies.items():
        calls = backend_calls(gateway, gql, fan, body)
        cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        figures = load(gql, fan, body, seconds, concurrency)
        # CPU per query of each of the four processes, over the same loaded run.
        split = {
            name: (cpu_seconds(pid) - cpu_before[name]) / figures["queries"] * 1000
            for name, pid in pids.items()
        }
        cpu_ms = split["gateway"]
        figures["cpu_split"] = split  # type: ignore[assignment]
        # Latency against the backend chain is compared one query at a time: under
        # load, queueing in front of the busiest service would be counted too.
        figures["p50_alone_ms"] = load(gql, fan, body, seconds / 2, 1)["p50_ms"]
        figures["peak_rss_mb"] = peak_rss_mb(pids["gateway"])
        floor_ms = floor_cpu_ms(gateway, fan_principal, body)
        chain, rewards_p50 = backend_p50s(urls, fan_principal, fan_user.id, pack_ids, n)
        rows.append((n, calls, figures, cpu_ms, floor_ms, chain, rewards_p50))
        log(
            f"N={n}: {figures['qps']:.0f} q/s, p50 {figures['p50_ms']:.1f} ms, "
            f"CPU {cpu_ms:.2f} ms vs floor {floor_ms:.2f} ms, calls {calls}"
        )
    report(rows, seconds, concurrency)
    gateway.extensions["fanfare"].db.dispose()


def backend_calls(gateway: Any, gql: str, fan: str, body: dict[str, Any]) -> dict[str, int]:
    """Backend calls of one query, counted in the gateway's own wave dispatcher."""
    counts: dict[str, int] = {}
    service = gateway.extensions["fanfare.graphql"]
    original = {name: client.call for name, client in service.backends.items()}
    for name, client in service.backends.items():

        def counting(*a: Any, _name: str = name, _call: Any = original[name], **k: Any) -> Any:
            counts[_name] = counts.get(_name, 0) + 1
            return _call(*a, **k)

        client.call = counting
    try:
        response = gateway.test_client().post(
            "/graphql", json=body, headers={"Authorization": f"Bearer {fan}"}
        )
        assert "errors" not in response.get_json()
    finally:
        for name, client in service.backends.items():
            client.call = original[name]
    return counts


def backend_p50s(
    urls: dict[str, str], fan: Principal, fan_id: str, pack_ids: list[str], n: int
) -> tuple[dict[str, float], float]:
    """Each backend's own p50 for the calls the home query makes (straight, no gateway)."""
    import base64

    raw = [base64.b64decode(p).decode().split(":", 1)[1] for p in pack_ids[:n]]
    session = requests.Session()

    def get(
        service: str, path: str, params: dict[str, Any], via: requests.Session | None = None
    ) -> Any:
        token = issue_internal_token(fan, audience=service, secret=SECRET)
        response = (via or session).get(
            f"{urls[service]}{path}",
            params=params,
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert response.ok, response.text
        return response.json()

    first = min(n, 100)
    # The pack page, then the viewer's links for its packs with their stats (one call).
    # As the gateway asks for it: the home query selects no assets.
    page = {"first": first, "omit": "assets"}
    if n <= 100:
        content_step = {"content": sequential_p50(lambda: get("content", "/v1/packs", page))}
    else:
        # Two pages of 100 (the page limit). They do not depend on each other, so the
        # gateway asks for both at once, and the chain's content step is content
        # answering both, asked at once; one page alone is shown beside it.
        second = {**page, "after": get("content", "/v1/packs", page)["page_info"]["end_cursor"]}
        sessions = [requests.Session(), requests.Session()]

        def both_pages(pool: ThreadPoolExecutor) -> None:
            for call in [
                pool.submit(get, "content", "/v1/packs", params, session)
                for params, session in zip((page, second), sessions, strict=True)
            ]:
                call.result()

        with ThreadPoolExecutor(2) as pages_pool:
            content_step = {
                "content 2 pages at once": sequential_p50(lambda: both_pages(pages_pool)),
                "(content 1 page alone)": sequential_p50(lambda: get("content", "/v1/packs", page)),
            }
    chain = {
        **content_step,
        "referrals links+stats": sequential_p50(
            lambda: get(
                "referrals",
                f"/v1/fans/{fan_id}/links",
                {"pack_ids": ",".join(raw), "include": "stats"},
            )
        ),
    }
    rewards = sequential_p50(lambda: get("rewards", "/v1/fans", {"ids": fan_id}))
    return chain, rewards


def report(rows: list[Any], seconds: float, concurrency: int) -> None:
    print(f"# GraphQL home query ({seconds:.0f} s per N, {concurrency} concurrent clients)\n")
    print(
        "| N | backend calls / query | q/s | p50 ms | p99 ms | gateway CPU ms/query "
        "| floor CPU ms/query (in-process, canned) | ratio "
        "| backend p50s along the longest chain (ms) | chain sum ms | rewards p50 ms "
        "| p50 alone (1 client) ms | p50 alone - chain sum ms | gateway peak RSS MB |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for n, calls, figures, cpu_ms, floor_ms, chain, rewards_p50 in rows:
        # A figure named in parentheses is shown for comparison and is not on the chain.
        chain_sum = sum(value for name, value in chain.items() if not name.startswith("("))
        calls_text = ", ".join(f"{k} {v}" for k, v in sorted(calls.items()))
        chain_text = ", ".join(f"{k} {v:.1f}" for k, v in chain.items())
        print(
            f"| {n} | {calls_text} | {figures['qps']:.0f} | {figures['p50_ms']:.1f} "
            f"| {figures['p99_ms']:.1f} | {cpu_ms:.2f} | {floor_ms:.2f} | {cpu_ms / floor_ms:.2f}x "
            f"| {chain_text} | {chain_sum:.1f} | "
            f"{rewards_p50:.1f} | {figures['p50_alone_ms']:.1f} "
            f"| {figures['p50_alone_ms'] - chain_sum:+.1f} | {figures['peak_rss_mb']:.0f} |"
        )
    print("\n## CPU per query by process (same loaded run)\n")
    print(
        "| N | gateway ms | content ms | referrals ms | rewards ms | total ms "
        "| q/s the 2 cores could serve at this total |"
    )
    print("|---|---|---|---|---|---|---|")
    for n, _calls, figures, _cpu_ms, _floor_ms, _chain, _rewards_p50 in rows:
        split = figures["cpu_split"]
        total = sum(split.values())
        print(
            f"| {n} | {split['gateway']:.2f} | {split['content']:.2f} | {split['referrals']:.2f} "
            f"| {split['rewards']:.2f} | {total:.2f} | {2000 / total:.0f} |"
        )


if __name__ == "__main__":
    main()

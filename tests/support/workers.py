"""Real Celery workers in subprocesses, started and stopped by tests."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path


class CeleryWorker:
    """``celery worker`` (with beat if asked) for one app, logging to a file."""

    def __init__(
        self,
        celery_target: str,
        *,
        queue: str,
        env: dict[str, str],
        log_path: Path,
        concurrency: int = 2,
        beat: bool = True,
        name: str = "worker",
    ) -> None:
        self.celery_target = celery_target
        self.queue = queue
        self.env = env
        self.log_path = log_path
        self.concurrency = concurrency
        self.beat = beat
        self.name = name
        self.process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        command = [
            sys.executable,
            "-m",
            "celery",
            "--app",
            self.celery_target,
            "worker",
            "--queues",
            self.queue,
            "--hostname",
            f"{self.name}@%h",
            "--concurrency",
            str(self.concurrency),
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
        if self.beat:
            schedule = self.log_path.with_suffix(".beat-schedule")
            command += ["--beat", "--schedule", str(schedule)]
        return command

    def start(self, timeout: float = 60.0) -> CeleryWorker:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log_file:
            self.process = subprocess.Popen(
                self.command(),
                env={**os.environ, **self.env},
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"celery worker exited early:\n{self.log_tail()}")
            if b" ready." in self.log_path.read_bytes()[offset:]:
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"celery worker not ready in {timeout}s:\n{self.log_tail()}")

    def restart_if_exited(self) -> bool:
        """Start the worker again if it died, as a process supervisor would."""
        if self.process is not None and self.process.poll() is None:
            return False
        self.stop()
        self.start()
        return True

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
        except ProcessLookupError:
            pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.process = None


def wait_until(
    predicate: object, *, timeout: float, interval: float = 0.1, message: str = ""
) -> None:
    """Poll ``predicate()`` until it is truthy; AssertionError after ``timeout``."""
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(message or f"condition not met within {timeout}s")

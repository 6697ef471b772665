"""``fanfare dev`` starts the whole platform, and Ctrl-C leaves nothing running."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import requests

from fanfare.apps import APPS
from fanfare.devserver import DEV_REDIS_PORT
from fanfare.embedded import port_is_free
from tests.support.workers import wait_until


def free_port_offset() -> int:
    for offset in range(20000, 30000, 10):
        ports = [spec.port + offset for spec in APPS] + [DEV_REDIS_PORT + offset]
        if all(port_is_free(port) for port in ports):
            return offset
    raise RuntimeError("no free block of ports for the dev platform")


def test_fanfare_dev_starts_every_app_worker_and_relay_and_stops_them_all(tmp_path: Path) -> None:
    # given a fresh var directory and no REDIS_URL: everything embedded
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_URL"}}
    offset = free_port_offset()
    output = tmp_path / "dev.out"
    with output.open("wb") as out:
        dev = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "fanfare.cli",
                "dev",
                "--var-dir",
                str(tmp_path / "var"),
                "--port-offset",
                str(offset),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        # when it reports that it is running
        wait_until(
            lambda: "Fanfare is running" in output.read_text() or dev.poll() is not None,
            timeout=180,
            interval=0.5,
        )
        text = output.read_text()
        assert dev.poll() is None, text
        urls = dict(re.findall(r"^\s+(\w+)\s+(http://\S+)/$", text, re.MULTILINE))

        # then it printed a URL per app, and every app is ready there
        assert set(urls) == {spec.name for spec in APPS}
        # and its Redis is moved by the offset like the apps, so two platforms never share one
        assert f"redis://127.0.0.1:{DEV_REDIS_PORT + offset}" in text
        for name, url in urls.items():
            response = requests.get(f"{url}/readyz", timeout=5)
            assert response.status_code == 200, (name, response.text)

        # and each service's worker runs its periodic outbox relay
        for spec in APPS:
            if spec.has_worker:
                wait_until(
                    lambda url=urls[spec.name], name=spec.name: (
                        f'task="{name}.relay_outbox"'
                        in requests.get(f"{url}/metrics", timeout=5).text
                    ),
                    timeout=60,
                    interval=0.5,
                    message=f"{spec.name} worker never relayed its outbox",
                )
        children = psutil.Process(dev.pid).children(recursive=True)
        assert len(children) >= len(APPS) + 6  # web apps, workers, relays and Redis at least

        # and each service that has an outbox has its relay process running
        relays = sorted(
            command[-1]
            for command in (child.cmdline() for child in children)
            if command[-2:-1] == ["relay"]  # ... -m fanfare.cli relay SERVICE
        )
        assert relays == sorted(spec.name for spec in APPS if spec.has_worker)

        # when Ctrl-C reaches it
        started = time.monotonic()
        dev.send_signal(signal.SIGINT)
        code = dev.wait(60)

        # then it stops cleanly, and nothing it started is left running
        assert code == 0, output.read_text()
        assert time.monotonic() - started < 30
        survivors = [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
        assert survivors == []
    finally:
        if dev.poll() is None:
            dev.kill()
            dev.wait()

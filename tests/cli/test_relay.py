"""``fanfare relay SERVICE``, run as a user (or a container, or ``fanfare dev``) runs it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import redis

from services.common.db import Database
from services.common.outbox import Outbox
from services.content.models import event_tables
from tests.cli.test_migrate_and_worker import clean_env, run_fanfare
from tests.support.workers import wait_until


def backlog(database: Database, outbox: Outbox) -> int:
    with database.transaction() as session:
        return outbox.backlog(session)


def test_relay_refuses_the_gateway_which_has_no_outbox(tmp_path: Path) -> None:
    # when a user asks for a relay process for the gateway
    result = run_fanfare("relay", "gateway", env=clean_env(FANFARE_VAR_DIR=str(tmp_path)))

    # then it is refused, saying why and which services have one
    assert result.returncode == 2
    assert "gateway has no outbox" in result.stderr
    assert "content, referrals, rewards" in result.stderr


def test_relay_refuses_a_poll_interval_of_zero(tmp_path: Path) -> None:
    result = run_fanfare(
        "relay", "content", "--poll-seconds", "0", env=clean_env(FANFARE_VAR_DIR=str(tmp_path))
    )
    assert result.returncode == 2
    assert "--poll-seconds" in result.stderr


def test_relay_sends_a_services_events_and_stops_on_sigterm(tmp_path: Path, redis_url: str) -> None:
    # given the content service's database and its relay process (no worker, no beat)
    env = clean_env(FANFARE_VAR_DIR=str(tmp_path), REDIS_URL=redis_url, LOG_FORMAT="text")
    assert run_fanfare("migrate", "content", env=env).returncode == 0
    database = Database(f"sqlite:///{tmp_path / 'content.db'}")
    outbox = Outbox(event_tables, producer="content")
    log_path = tmp_path / "relay.log"
    with log_path.open("wb") as log_file:
        relay = subprocess.Popen(
            [sys.executable, "-m", "fanfare.cli", "relay", "content", "--poll-seconds", "0.05"],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until(lambda: "outbox relay of content" in log_path.read_text(), timeout=60)

        # when the service commits an event
        with database.transaction() as session:
            outbox.add(session, "content.pack_published", {"pack_id": "pack-1"})

        # then the relay sends it to each consuming service's queue, and marks it sent
        client = redis.Redis.from_url(redis_url)
        wait_until(
            lambda: client.llen("referrals") == 1 and client.llen("rewards") == 1,
            timeout=10,
            interval=0.02,
            message=log_path.read_text(),
        )
        wait_until(lambda: backlog(database, outbox) == 0, timeout=5)

        # and SIGTERM ends it promptly and cleanly
        asked = time.monotonic()
        relay.send_signal(signal.SIGTERM)
        assert relay.wait(10) == 0, log_path.read_text()
        assert time.monotonic() - asked < 3
        assert "outbox relay of content stopped" in log_path.read_text()
    finally:
        if relay.poll() is None:
            os.killpg(relay.pid, signal.SIGKILL)
            relay.wait()
        database.dispose()

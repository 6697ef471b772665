"""``fanfare migrate`` and ``fanfare worker``, run as a user runs them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, inspect

from fanfare.apps import APPS
from tests.support.workers import wait_until


def run_fanfare(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fanfare.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    return {**env, **extra}


def test_migrate_creates_every_apps_sqlite_database_under_var(tmp_path: Path) -> None:
    # when a user migrates on the embedded default
    result = run_fanfare("migrate", env=clean_env(FANFARE_VAR_DIR=str(tmp_path)))

    # then each app has its own database file at its head revision
    assert result.returncode == 0, result.stderr
    for spec in APPS:
        assert f"{spec.name}: migrated" in result.stdout
        engine = create_engine(f"sqlite:///{tmp_path / (spec.name + '.db')}")
        with engine.connect() as connection:
            assert "alembic_version" in inspect(connection).get_table_names()
        engine.dispose()

    # and running it again changes nothing and succeeds
    assert run_fanfare("migrate", env=clean_env(FANFARE_VAR_DIR=str(tmp_path))).returncode == 0


def test_migrate_refuses_one_database_url_for_several_apps(tmp_path: Path) -> None:
    # given one DATABASE_URL, as a container for one app has
    env = clean_env(DATABASE_URL=f"sqlite:///{tmp_path / 'one.db'}")

    # when every app is asked to migrate into it
    result = run_fanfare("migrate", env=env)

    # then nothing is written and the user is told what to do
    assert result.returncode == 2
    assert "fanfare migrate content" in result.stderr
    assert not (tmp_path / "one.db").exists()


def test_migrate_refuses_an_unknown_app() -> None:
    result = run_fanfare("migrate", "billing", env=clean_env())
    assert result.returncode == 2
    assert "'billing' is not one of" in result.stderr


def test_worker_starts_a_services_celery_worker_with_beat(tmp_path: Path, redis_url: str) -> None:
    # given the content service's database
    env = clean_env(
        FANFARE_VAR_DIR=str(tmp_path), REDIS_URL=redis_url, OUTBOX_RELAY_INTERVAL_SECONDS="0.2"
    )
    assert run_fanfare("migrate", "content", env=env).returncode == 0
    log_path = tmp_path / "worker.log"

    # when a user starts its worker
    with log_path.open("wb") as log_file:
        worker = subprocess.Popen(
            [sys.executable, "-m", "fanfare.cli", "worker", "content", "--concurrency", "1"],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        # then it consumes the content queue and beat drives the outbox relay
        wait_until(
            lambda: (
                "content.relay_outbox" in (text := log_path.read_text()) and "succeeded" in text
            ),
            timeout=60,
            message=log_path.read_text(),
        )
        text = log_path.read_text()
        assert "content.consume_event" in text  # registered task
        assert ".> content" in text  # the queue it listens on
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()

"""A tiny service built only from the common plumbing, to prove that plumbing.

It owns two tables, ``notes`` and ``fixes``. ``probe.noted`` events add a note;
``probe.poison`` events always fail; ``probe.needs_fix`` events fail until their
id is in ``fixes`` (an operator fixed the cause), then add a note. The worker
runs it as ``tests.support.probe_service:celery`` with the same environment
variables a real service reads.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar, Final

import redis
from flask import Flask
from sqlalchemy import Column, Integer, String, Table, func, select
from sqlalchemy.orm import Session

from services.common.app import create_service_app
from services.common.celery_app import create_celery
from services.common.db import new_metadata
from services.common.events import Event
from services.common.outbox import EventTables
from services.common.runtime import ServiceRuntime
from services.common.settings import CommonSettings
from tests.support.postgres import PostgresHarness
from tests.support.workers import CeleryWorker

PROBE_ROUTES = {"probe.*": ("probe",)}
# Tries before a failing event is dead-lettered, in the tests and in their workers.
PROBE_MAX_RETRIES: Final = 2

metadata = new_metadata()
event_tables = EventTables(metadata)
notes = Table(
    "notes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False),
    Column("text", String(200), nullable=False),
)
fixes = Table("fixes", metadata, Column("event_id", String(36), primary_key=True))


class ProbeSettings(CommonSettings):
    service_name: ClassVar[str] = "probe"


def create_app(settings: ProbeSettings | None = None) -> Flask:
    app = create_service_app(
        __name__, settings or ProbeSettings(), event_tables=event_tables, event_routes=PROBE_ROUTES
    )
    runtime: ServiceRuntime = app.extensions["fanfare"]
    assert runtime.consumer is not None

    @runtime.consumer.on("probe.noted")
    def add_note(session: Session, event: Event) -> None:
        session.execute(notes.insert().values(event_id=event.id, text=event.payload["text"]))

    @runtime.consumer.on("probe.needs_fix")
    def add_note_once_fixed(session: Session, event: Event) -> None:
        if session.scalar(select(fixes.c.event_id).where(fixes.c.event_id == event.id)) is None:
            raise RuntimeError(f"event {event.id} needs a fix first")
        session.execute(notes.insert().values(event_id=event.id, text=event.payload["text"]))

    @runtime.consumer.on("probe.poison")
    def always_fail(_session: Session, event: Event) -> None:
        raise RuntimeError(f"poison event {event.id} cannot be applied")

    create_celery(app)
    return app


def fix(runtime: ServiceRuntime, event_id: str) -> None:
    """What an operator does before sending a ``probe.needs_fix`` event again."""
    with runtime.db.transaction() as session:
        session.execute(fixes.insert().values(event_id=event_id))


def count_notes(runtime: ServiceRuntime, event_id: str) -> int:
    with runtime.db.transaction() as session:
        return int(session.scalar(select(func.count()).where(notes.c.event_id == event_id)) or 0)


def probe_environment(database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    """What the probe's worker process reads, as a real service's worker would."""
    return {
        **extra,
        "FANFARE_ENV": "test",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "EVENT_MAX_RETRIES": str(PROBE_MAX_RETRIES),
        "EVENT_RETRY_BACKOFF_SECONDS": "0.05",
        "OUTBOX_RELAY_INTERVAL_SECONDS": "0.2",
        "LOG_FORMAT": "json",
    }


def start_probe(
    database_url: str, redis_url: str, *, env: dict[str, str], log_path: Path, beat: bool = True
) -> tuple[ServiceRuntime, CeleryWorker]:
    """The probe's runtime in this process, its tables made, and its worker started."""
    app = create_app(
        ProbeSettings(
            environment="test",
            database_url=database_url,
            redis_url=redis_url,
            event_max_retries=PROBE_MAX_RETRIES,
        )
    )
    runtime: ServiceRuntime = app.extensions["fanfare"]
    metadata.create_all(runtime.db.engine)
    worker = CeleryWorker(
        "tests.support.probe_service:celery", queue="probe", env=env, log_path=log_path, beat=beat
    ).start()
    return runtime, worker


@contextmanager
def probe_running(
    kind: str,
    workdir: Path,
    postgres: PostgresHarness,
    redis_server_url: str,
    *,
    redis_db: int,
    beat: bool,
    **extra_env: str,
) -> Iterator[tuple[ServiceRuntime, CeleryWorker]]:
    """The probe on a fresh ``kind`` database ("sqlite" or "postgresql") and its running worker.

    ``redis_db`` is a Redis database of the test module's own, flushed first, so
    two modules (or parametrisations) never share a queue. Afterwards the
    worker is stopped, the engine disposed of and a PostgreSQL database dropped.
    """
    if kind == "sqlite":
        database_url = f"sqlite:///{workdir / 'probe.db'}"
    else:
        database_url = postgres.create_database("probe")
    redis_url = f"{redis_server_url.rsplit('/', 1)[0]}/{redis_db}"
    redis.Redis.from_url(redis_url).flushdb()
    env = probe_environment(database_url, redis_url, **extra_env)
    runtime, worker = start_probe(
        database_url, redis_url, env=env, log_path=workdir / "worker.log", beat=beat
    )
    try:
        yield runtime, worker
    finally:
        worker.stop()
        runtime.db.dispose()
        if kind == "postgresql":
            postgres.drop_database(database_url)


def _worker_celery() -> object:
    return create_app().extensions["celery"]


def __getattr__(name: str) -> object:
    # The worker imports ``celery`` from here; tests import the module without
    # building an app from their own environment.
    if name == "celery":
        return _worker_celery()
    raise AttributeError(name)

"""A tiny service built only from the common plumbing, to prove that plumbing.

It owns one table, ``notes``. ``probe.noted`` events add a note; ``probe.poison``
events always fail. The worker runs it as ``tests.support.probe_service:celery``
with the same environment variables a real service reads.
"""

from __future__ import annotations

from typing import ClassVar

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

PROBE_ROUTES = {"probe.*": ("probe",)}

metadata = new_metadata()
event_tables = EventTables(metadata)
notes = Table(
    "notes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False),
    Column("text", String(200), nullable=False),
)


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

    @runtime.consumer.on("probe.poison")
    def always_fail(_session: Session, event: Event) -> None:
        raise RuntimeError(f"poison event {event.id} cannot be applied")

    create_celery(app)
    return app


def count_notes(runtime: ServiceRuntime, event_id: str) -> int:
    with runtime.db.transaction() as session:
        return int(session.scalar(select(func.count()).where(notes.c.event_id == event_id)) or 0)


def _worker_celery() -> object:
    return create_app().extensions["celery"]


def __getattr__(name: str) -> object:
    # The worker imports ``celery`` from here; tests import the module without
    # building an app from their own environment.
    if name == "celery":
        return _worker_celery()
    raise AttributeError(name)

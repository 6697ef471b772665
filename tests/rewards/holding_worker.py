"""The rewards worker with one extra handler that can hold a conversion's transaction open.

It runs after the rewards handlers, inside the same consumer transaction, so
while it waits the reward is written but not committed: exactly the moment a
worker dies in. The test controls it through Redis keys.
"""

from __future__ import annotations

import os
import time

from flask import Flask
from sqlalchemy.orm import Session

from services.common.events import Event
from services.common.runtime import ServiceRuntime
from services.rewards.app import create_app

HOLD_KEY = "rewards-test:hold"


def entered_key(event_id: str) -> str:
    return f"rewards-test:entered:{event_id}"


def pid_key(event_id: str) -> str:
    return f"rewards-test:pid:{event_id}"


def create_holding_app() -> Flask:
    app = create_app()
    runtime: ServiceRuntime = app.extensions["fanfare"]
    assert runtime.consumer is not None

    @runtime.consumer.on("referrals.conversion_approved")
    def hold_while_asked(_session: Session, event: Event) -> None:
        runtime.redis.set(pid_key(event.id), os.getpid())
        runtime.redis.incr(entered_key(event.id))
        deadline = time.monotonic() + 60
        while runtime.redis.get(HOLD_KEY) == b"1" and time.monotonic() < deadline:
            time.sleep(0.05)

    return app


def __getattr__(name: str) -> object:
    # The worker imports ``celery`` from here; tests import the module without
    # building an app from their own environment.
    if name == "celery":
        return create_holding_app().extensions["celery"]
    raise AttributeError(name)

"""``GET /healthz`` (the process is alive) and ``GET /readyz`` (its dependencies answer)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Blueprint, Response, current_app, jsonify

from services.common.internal_auth import public

log = logging.getLogger(__name__)

ReadinessCheck = Callable[[], None]

health_blueprint = Blueprint("health", __name__)


@health_blueprint.get("/healthz")
@public
def healthz() -> Response:
    """Alive: answers without touching anything else."""
    return jsonify({"status": "ok"})


@health_blueprint.get("/readyz")
@public
def readyz() -> tuple[Response, int]:
    """Ready: every dependency (database, broker) answered; 503 naming those that did not."""
    checks: dict[str, ReadinessCheck] = current_app.extensions["fanfare.readiness"]
    results: dict[str, str] = {}
    for name, check in checks.items():
        try:
            check()
            results[name] = "ok"
        except Exception as exc:
            log.warning("readiness check %s failed: %s", name, exc)
            results[name] = "unavailable"
    ready = all(result == "ok" for result in results.values())
    body = {"status": "ready" if ready else "unavailable", "checks": results}
    return jsonify(body), 200 if ready else 503

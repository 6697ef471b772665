"""The part of every app factory that is the same for all four apps."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import redis
from flask import Flask, Response, jsonify, request

from services.common.db import Database
from services.common.delivery_receipts import DeliveryReceipts
from services.common.errors import register_error_handlers
from services.common.health import health_blueprint
from services.common.internal_auth import current_principal, require_internal_token
from services.common.log import (
    REQUEST_ID_HEADER,
    accept_request_id,
    configure_logging,
    current_request_id,
)
from services.common.metrics import init_metrics
from services.common.outbox import EventConsumer, EventTables, Outbox
from services.common.runtime import ServiceRuntime
from services.common.settings import CommonSettings
from services.common.storable_input import refuse_unstorable_input


def create_service_app(
    import_name: str,
    settings: CommonSettings,
    *,
    event_tables: EventTables | None,
    event_routes: Mapping[str, Sequence[str]] | None = None,
    require_token: bool = True,
) -> Flask:
    """A Flask app with logging, errors, health, metrics and internal auth wired in."""
    service = settings.service_name
    configure_logging(service, level=settings.log_level, fmt=settings.log_format)

    app = Flask(import_name)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.config["MAX_CONTENT_LENGTH"] = 1 * 1024 * 1024

    timeout = settings.readiness_timeout_seconds
    redis_client = redis.Redis.from_url(
        settings.redis_url, socket_timeout=timeout, socket_connect_timeout=timeout
    )
    runtime = ServiceRuntime(
        settings=settings,
        db=Database(settings.database_url, connect_timeout=timeout),
        event_tables=event_tables,
        outbox=(
            Outbox(event_tables, producer=service, routes=event_routes) if event_tables else None
        ),
        consumer=EventConsumer(event_tables) if event_tables else None,
        redis=redis_client,
        receipts=DeliveryReceipts(
            redis_client,
            grace_seconds=settings.event_confirm_grace_seconds,
            # a queue longer than one relay batch is a backlog, not a loss
            backlog_threshold=settings.outbox_relay_batch_size,
        ),
    )
    app.extensions["fanfare"] = runtime
    app.extensions["fanfare.readiness"] = {
        "database": runtime.db.ping,
        "broker": runtime.ping_broker,
    }

    _init_request_id(app)
    register_error_handlers(app)
    init_metrics(app, service=service, extra=runtime.scrape_time_gauges())
    app.register_blueprint(health_blueprint)
    if require_token:
        require_internal_token(
            app, audience=service, secret=settings.internal_token_secret.get_secret_value()
        )
        app.add_url_rule("/v1/principal", "principal", _principal_view, methods=["GET"])
        # The services' JSON APIs refuse text and ids no column can hold, before any view
        # (the gateway, which answers GraphQL, has its own input rules). Here, so that the
        # id converter is in place before the service registers its routes.
        refuse_unstorable_input(app)
    return app


def _principal_view() -> Response:
    """Who this service believes the caller is: the gateway's view, checked."""
    principal = current_principal()
    return jsonify(
        {
            "role": principal.role,
            "user_id": principal.user_id,
            "api_key_id": principal.api_key_id,
            "scopes": list(principal.scopes),
        }
    )


def _init_request_id(app: Flask) -> None:
    """Take the caller's request id (or make one) and hand it back in the response."""

    @app.before_request
    def _bind_request_id() -> None:
        current_request_id.set(accept_request_id(request.headers.get(REQUEST_ID_HEADER)))

    @app.after_request
    def _echo_request_id(response: Response) -> Response:
        request_id = current_request_id.get()
        if request_id:
            response.headers[REQUEST_ID_HEADER] = request_id
        return response

    @app.teardown_request
    def _unbind_request_id(_exc: BaseException | None) -> None:
        current_request_id.set(None)

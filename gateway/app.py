"""The gateway's app factory."""

from __future__ import annotations

from flask import Flask

from gateway.core.backends import ServiceClient
from gateway.settings import GatewaySettings
from services.common.app import create_service_app


def create_app(settings: GatewaySettings | None = None) -> Flask:
    """Build the gateway from ``settings`` (read from the environment when omitted)."""
    settings = settings or GatewaySettings()
    app = create_service_app(__name__, settings, event_tables=None, require_token=False)
    secret = settings.internal_token_secret.get_secret_value()
    app.extensions["fanfare.backends"] = {
        name: ServiceClient(
            name,
            url,
            secret=secret,
            timeout=settings.backend_timeout_seconds,
            token_ttl_seconds=settings.internal_token_ttl_seconds,
        )
        for name, url in settings.backend_urls().items()
    }
    return app

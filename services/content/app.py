"""The content service's app factory."""

from __future__ import annotations

from flask import Flask

from services.common.app import create_service_app
from services.common.celery_app import create_celery
from services.content.models import event_tables
from services.content.settings import ContentSettings


def create_app(settings: ContentSettings | None = None) -> Flask:
    """Build the content app from ``settings`` (read from the environment when omitted)."""
    settings = settings or ContentSettings()
    app = create_service_app(__name__, settings, event_tables=event_tables)
    create_celery(app)
    return app

"""The referrals service's app factory."""

from __future__ import annotations

from flask import Flask

from services.common.app import create_service_app
from services.common.celery_app import create_celery
from services.referrals.models import event_tables
from services.referrals.settings import ReferralsSettings


def create_app(settings: ReferralsSettings | None = None) -> Flask:
    """Build the referrals app from ``settings`` (read from the environment when omitted)."""
    settings = settings or ReferralsSettings()
    app = create_service_app(__name__, settings, event_tables=event_tables)
    create_celery(app)
    return app

"""The referrals service's app factory."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session
from werkzeug.middleware.proxy_fix import ProxyFix

from services.common.app import create_service_app
from services.common.celery_app import create_celery
from services.common.events import Event
from services.common.runtime import ServiceRuntime
from services.referrals.components import build_components
from services.referrals.directory import LinkDirectory
from services.referrals.models import event_tables
from services.referrals.packs import apply_pack_event
from services.referrals.public_views import RedirectFastPath, public_pages
from services.referrals.settings import ReferralsSettings
from services.referrals.tasks import register_tasks
from services.referrals.views import api

PACK_EVENTS = ("content.pack_published", "content.pack_updated", "content.pack_archived")


def create_app(settings: ReferralsSettings | None = None) -> Flask:
    """Build the referrals app from ``settings`` (read from the environment when omitted)."""
    settings = settings or ReferralsSettings()
    app = create_service_app(__name__, settings, event_tables=event_tables)
    runtime: ServiceRuntime = app.extensions["fanfare"]
    components = build_components(runtime, settings)
    app.extensions["referrals"] = components
    # The redirect is answered before Flask's request handling (the hot path); behind
    # ProxyFix, so it sees the client address the trusted proxies report.
    wsgi: Any = RedirectFastPath(app.wsgi_app, app, components)
    if settings.trusted_proxy_count:
        # Only then is X-Forwarded-For believed, and only its last N hops.
        wsgi = ProxyFix(wsgi, x_for=settings.trusted_proxy_count)
    app.wsgi_app = wsgi  # type: ignore[method-assign]
    _consume_pack_events(runtime, components.directory)
    app.register_blueprint(api)
    app.register_blueprint(public_pages)
    celery = create_celery(app)
    register_tasks(celery, runtime, components)
    return app


def _consume_pack_events(runtime: ServiceRuntime, directory: LinkDirectory) -> None:
    assert runtime.consumer is not None

    def keep_pack(session: Session, event: Event) -> None:
        pack_id = apply_pack_event(session, event)
        # Dropped from the shared cache once the change is committed, so no reader
        # can cache the old row again in between.
        sa_event.listen(
            session, "after_commit", lambda _session: directory.forget_pack(pack_id), once=True
        )

    for event_type in PACK_EVENTS:
        runtime.consumer.on(event_type)(keep_pack)

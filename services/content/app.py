"""The content service's app factory."""

from __future__ import annotations

from flask import Flask

from services.common.app import create_service_app
from services.common.celery_app import create_celery
from services.common.runtime import ServiceRuntime
from services.content.context import ContentContext
from services.content.dead_letter_redo import TASK_REDOERS
from services.content.fans import apply_tier_changed
from services.content.imaging import PillowImagePipeline
from services.content.media import media
from services.content.models import event_tables
from services.content.settings import ContentSettings
from services.content.signed_urls import SignedUrlCache
from services.content.signing import UrlSigner
from services.content.storage import storage_from_settings
from services.content.tasks import PROCESS_ASSET, QUEUE, register_tasks
from services.content.views import api


def create_app(settings: ContentSettings | None = None) -> Flask:
    """Build the content app from ``settings`` (read from the environment when omitted)."""
    settings = settings or ContentSettings()
    app = create_service_app(__name__, settings, event_tables=event_tables)
    runtime: ServiceRuntime = app.extensions["fanfare"]
    assert runtime.outbox is not None
    assert runtime.consumer is not None
    celery = create_celery(app)

    def enqueue_processing(asset_id: int) -> None:
        celery.send_task(PROCESS_ASSET, args=[asset_id], queue=QUEUE, retry=False)

    storage = storage_from_settings(settings)
    context = ContentContext(
        settings=settings,
        db=runtime.db,
        outbox=runtime.outbox,
        consumer=runtime.consumer,
        storage=storage,
        images=PillowImagePipeline(max_pixels=settings.max_image_pixels),
        signer=UrlSigner(settings.media_signing_key),
        signed_urls=SignedUrlCache(storage, ttl_seconds=settings.signed_url_ttl_seconds),
        enqueue_processing=enqueue_processing,
    )
    app.extensions["content"] = context
    runtime.consumer.on("rewards.tier_changed")(apply_tier_changed)
    register_tasks(celery, context)
    runtime.task_redoers.update(TASK_REDOERS)
    app.register_blueprint(api)
    app.register_blueprint(media)
    return app

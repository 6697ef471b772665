"""Celery tasks of the content service: image processing and the stuck-asset sweep."""

from __future__ import annotations

import logging
import traceback

from celery import Celery, Task
from celery.exceptions import SoftTimeLimitExceeded

from services.common.celery_app import backoff_seconds
from services.content import assets
from services.content.context import ContentContext
from services.content.interfaces import StorageError

log = logging.getLogger(__name__)

PROCESS_ASSET = "content.process_asset"
SWEEP_STUCK_ASSETS = "content.sweep_stuck_assets"
QUEUE = "content"
RETRY_BACKOFF_SECONDS = 2.0


def register_tasks(celery: Celery, context: ContentContext) -> None:
    settings = context.settings
    soft_limit = settings.asset_task_soft_time_limit_seconds

    @celery.task(
        name=PROCESS_ASSET,
        bind=True,
        acks_late=True,
        soft_time_limit=soft_limit,
        time_limit=soft_limit + 30,
        max_retries=settings.asset_task_max_attempts,
    )
    def process_asset(self: Task, asset_id: int) -> str:  # type: ignore[type-arg]
        """Make an asset's renditions; retry storage hiccups, fail bad images with a code."""
        try:
            return assets.process_asset(context=context, asset_id=asset_id)
        except SoftTimeLimitExceeded:
            assets.fail_asset(
                context=context,
                asset_id=asset_id,
                code="PROCESSING_TIMEOUT",
                message=f"The image took longer than {soft_limit}s to process.",
            )
            return "failed"
        except MemoryError:
            assets.fail_asset(
                context=context,
                asset_id=asset_id,
                code="IMAGE_TOO_COMPLEX",
                message="The image needs more memory to decode than the worker allows.",
            )
            return "failed"
        except StorageError as exc:
            retries = self.request.retries
            if retries + 1 >= settings.asset_task_max_attempts:
                context.consumer.dead_letter(
                    context.db,
                    kind="task",
                    name=PROCESS_ASSET,
                    reference=f"asset:{asset_id}",
                    payload={"asset_id": asset_id},
                    error="".join(traceback.format_exception(exc)),
                    attempts=retries + 1,
                )
                assets.fail_asset(
                    context=context,
                    asset_id=asset_id,
                    code="PROCESSING_ERROR",
                    message="Storage kept failing while processing; upload the image again.",
                )
                return "dead_lettered"
            countdown = backoff_seconds(RETRY_BACKOFF_SECONDS, retries)
            log.warning("asset %s: storage failed (%s); retry in %.1fs", asset_id, exc, countdown)
            raise self.retry(exc=exc, countdown=countdown) from exc

    @celery.task(name=SWEEP_STUCK_ASSETS, acks_late=False, ignore_result=True)
    def sweep_stuck_assets() -> int:
        """Queue again the assets whose processing task was lost."""
        stuck = assets.stuck_asset_ids(context=context)
        for asset_id in stuck:
            context.enqueue_processing(asset_id)
        if stuck:
            log.warning("re-queued %d stuck assets", len(stuck))
        return len(stuck)

    celery.conf.beat_schedule = {
        **celery.conf.beat_schedule,
        "sweep-stuck-assets": {
            "task": SWEEP_STUCK_ASSETS,
            "schedule": settings.asset_sweep_interval_seconds,
            "options": {"expires": settings.asset_sweep_interval_seconds},
        },
    }

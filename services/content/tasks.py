"""Celery tasks of the content service: image processing and the stuck-asset sweep."""

from __future__ import annotations

import logging
import traceback

from celery import Celery, Task
from celery.exceptions import SoftTimeLimitExceeded

from services.common.celery_app import backoff_seconds
from services.content import assets
from services.content.context import ContentContext

log = logging.getLogger(__name__)

PROCESS_ASSET = assets.PROCESS_ASSET_TASK
SWEEP_STUCK_ASSETS = "content.sweep_stuck_assets"
QUEUE = "content"
RETRY_BACKOFF_SECONDS = 2.0
# Past the soft limit the task gets this long to record FAILED before it is killed.
HARD_LIMIT_GRACE_SECONDS = 30


def register_tasks(celery: Celery, context: ContentContext) -> None:
    settings = context.settings
    soft_limit = settings.asset_task_soft_time_limit_seconds

    @celery.task(
        name=PROCESS_ASSET,
        bind=True,
        acks_late=True,
        soft_time_limit=soft_limit,
        time_limit=soft_limit + HARD_LIMIT_GRACE_SECONDS,
        max_retries=settings.asset_task_max_attempts,
    )
    def process_asset(self: Task, asset_id: int) -> str:  # type: ignore[type-arg]
        """Make an asset's renditions; retry other failures, fail bad images with a code."""
        # The verdict is recorded after the except block: the traceback keeps the
        # half-made images of the failed run alive until then, and after a
        # MemoryError recording the failure needs memory of its own.
        failure: tuple[str, str]
        try:
            return assets.process_asset(context=context, asset_id=asset_id)
        except SoftTimeLimitExceeded:
            failure = ("PROCESSING_TIMEOUT", f"The image took over {soft_limit}s to process.")
        except MemoryError:
            failure = (
                "IMAGE_TOO_COMPLEX",
                "The image needs more memory to decode than the worker allows; scale it down.",
            )
        except Exception as exc:
            # Storage hiccups, a database restart, or a bug: retry with backoff,
            # then park the task in dead_letters instead of looping.
            retries = self.request.retries
            if retries + 1 < settings.asset_task_max_attempts:
                countdown = backoff_seconds(RETRY_BACKOFF_SECONDS, retries)
                log.warning("asset %s: failed (%s); retry in %.1fs", asset_id, exc, countdown)
                raise self.retry(exc=exc, countdown=countdown) from exc
            assets.dead_letter_processing(
                context=context,
                asset_id=asset_id,
                error="".join(traceback.format_exception(exc)),
                attempts=retries + 1,
            )
            log.error("asset %s: processing dead-lettered after %d attempts", asset_id, retries + 1)
            failure = (
                "PROCESSING_ERROR",
                "Processing kept failing (storage or service error); upload the image again.",
            )
        code, message = failure
        log.warning("asset %s: %s", asset_id, code)
        assets.fail_asset(context=context, asset_id=asset_id, code=code, message=message)
        return "failed"

    @celery.task(name=SWEEP_STUCK_ASSETS, acks_late=False, ignore_result=True)
    def sweep_stuck_assets() -> int:
        """Queue again the assets whose processing task was lost or killed."""
        stuck = assets.claim_stuck_assets(context=context)
        for asset_id in stuck:
            context.enqueue_processing(asset_id)
        if stuck:
            log.warning("re-queued %d stuck assets: %s", len(stuck), stuck)
        return len(stuck)

    celery.conf.beat_schedule = {
        **celery.conf.beat_schedule,
        "sweep-stuck-assets": {
            "task": SWEEP_STUCK_ASSETS,
            "schedule": settings.asset_sweep_interval_seconds,
            "options": {"expires": settings.asset_sweep_interval_seconds},
        },
    }

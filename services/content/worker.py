"""Celery entry point: ``celery -A services.content.worker:celery worker -Q content``.

Each worker process caps its own address space, so an image that decodes
into more memory than allowed raises MemoryError in that task (the asset
ends FAILED) instead of growing until the machine kills something.
"""

from __future__ import annotations

import logging
import resource
from typing import Any

from celery import signals

from services.content.app import create_app

log = logging.getLogger(__name__)

app = create_app()
celery = app.extensions["celery"]
_memory_limit_mb = app.extensions["content"].settings.worker_memory_limit_mb


@signals.worker_process_init.connect(weak=False)
def _cap_memory(**_: Any) -> None:
    if _memory_limit_mb <= 0:
        return
    limit = _memory_limit_mb * 1024 * 1024
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    log.info("worker process memory capped at %d MB", limit // (1024 * 1024))

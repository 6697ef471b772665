"""Structured logs with a request id that travels between services.

The gateway takes the caller's ``X-Request-ID`` (or makes one) and forwards it
to every service it calls; services and their Celery tasks put it on every log
line, so one user action can be followed across all four apps.
"""

from __future__ import annotations

import logging
import re
import sys
import uuid
from contextvars import ContextVar

from pythonjsonlogger.json import JsonFormatter

REQUEST_ID_HEADER = "X-Request-ID"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")

current_request_id: ContextVar[str | None] = ContextVar("current_request_id", default=None)


def new_request_id() -> str:
    return uuid.uuid4().hex


def accept_request_id(candidate: str | None) -> str:
    """The caller's request id if it is well formed, else a fresh one."""
    if candidate and _VALID_REQUEST_ID.match(candidate):
        return candidate
    return new_request_id()


_base_record_factory = logging.getLogRecordFactory()
_service_name = "fanfare"


def _record_with_context(*args: object, **kwargs: object) -> logging.LogRecord:
    # A record factory rather than a handler filter, so every handler (pytest's
    # capture included) sees the service and request id on every record.
    record = _base_record_factory(*args, **kwargs)
    record.service = _service_name
    record.request_id = current_request_id.get()
    return record


def configure_logging(service: str, *, level: str = "INFO", fmt: str = "json") -> None:
    """Log to stderr, one JSON object a line (or readable text in development)."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s %(service)s %(request_id)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s [%(service)s %(request_id)s] %(message)s")
        )
    global _service_name  # noqa: PLW0603 - one service per process
    _service_name = service
    logging.setLogRecordFactory(_record_with_context)
    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, "_fanfare", False):
            root.removeHandler(existing)
    handler._fanfare = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())

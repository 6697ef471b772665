"""One JSON error envelope for every REST service.

Domain code raises a :class:`ServiceError` subclass carrying a stable code and
an HTTP status; one handler renders it as
``{"error": {"code": ..., "message": ..., "details": {...}}}``.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class ServiceError(Exception):
    """An expected failure with a stable machine-readable code."""

    status = 400
    code = "BAD_REQUEST"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.details = details or {}


class InvalidInput(ServiceError):
    status = 422
    code = "INVALID"


class Unauthenticated(ServiceError):
    status = 401
    code = "UNAUTHENTICATED"


class Forbidden(ServiceError):
    status = 403
    code = "FORBIDDEN"


class NotFound(ServiceError):
    status = 404
    code = "NOT_FOUND"


class Conflict(ServiceError):
    status = 409
    code = "CONFLICT"


class ServiceUnavailable(ServiceError):
    status = 503
    code = "SERVICE_UNAVAILABLE"


# Werkzeug's exceptions, by status, as our stable codes.
HTTP_STATUS_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    409: "CONFLICT",
    410: "GONE",
    411: "LENGTH_REQUIRED",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "INVALID",
    429: "RATE_LIMITED",
    503: "SERVICE_UNAVAILABLE",
}


def error_response(
    status: int, code: str, message: str, details: dict[str, Any] | None = None
) -> Response:
    response = jsonify({"error": {"code": code, "message": message, "details": details or {}}})
    response.status_code = status
    return response


def register_error_handlers(app: Flask) -> None:
    """Render every failure, expected or not, in the one envelope."""

    @app.errorhandler(ServiceError)
    def _service_error(error: ServiceError) -> Response:
        return error_response(error.status, error.code, error.message, error.details)

    @app.errorhandler(ValidationError)
    def _validation_error(error: ValidationError) -> Response:
        messages = error.normalized_messages()  # type: ignore[no-untyped-call]
        return error_response(
            422, "INVALID", "The request has invalid fields; see details.", {"fields": messages}
        )

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        status = error.code or 500
        response = error_response(
            status,
            HTTP_STATUS_CODES.get(status, "HTTP_ERROR"),
            error.description or error.name,
        )
        if status == 405 and error.valid_methods:  # type: ignore[attr-defined]
            response.headers["Allow"] = ", ".join(error.valid_methods)  # type: ignore[attr-defined]
        return response

    @app.errorhandler(Exception)
    def _unexpected_error(error: Exception) -> Response:
        log.exception("unhandled error", exc_info=error)
        return error_response(500, "INTERNAL", "Something went wrong on our side.")

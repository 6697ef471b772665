"""Top-level GraphQL errors: one stable ``extensions.code`` each, and no stack traces.

Permission failures and faults surface here; expected failures of a mutation
go to its payload's ``errors`` instead (see :mod:`gateway.core.mutations`).
"""

from __future__ import annotations

import logging
import re
import traceback
from typing import Any

from graphql import GraphQLError

from gateway.identity.errors import IdentityError
from gateway.interfaces import BackendError

log = logging.getLogger(__name__)

_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


class GraphQLFault(Exception):
    """A failure shown in the top-level errors with a stable code."""

    code = "INTERNAL"

    def __init__(self, message: str, **extensions: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extensions = extensions


class Unauthenticated(GraphQLFault):
    code = "UNAUTHENTICATED"


class Forbidden(GraphQLFault):
    code = "FORBIDDEN"


class QueryTooComplex(GraphQLFault):
    code = "QUERY_TOO_COMPLEX"


class BadUserInput(GraphQLFault):
    code = "BAD_USER_INPUT"


class RateLimited(GraphQLFault):
    code = "RATE_LIMITED"


INTERNAL_MESSAGE = "Something went wrong on our side; the request id is in the X-Request-ID header."


def error_code(error: GraphQLError) -> str:
    original = error.original_error
    if isinstance(original, GraphQLFault | BackendError | IdentityError):
        return original.code
    if original is None:
        return str((error.extensions or {}).get("code") or "GRAPHQL_VALIDATION_FAILED")
    return "INTERNAL"


def format_error(error: GraphQLError, *, debug: bool) -> dict[str, Any]:
    """The JSON of one error; internal faults are logged and masked."""
    original = error.original_error
    extensions: dict[str, Any] = {"code": error_code(error)}
    message = error.message
    if isinstance(original, GraphQLFault):
        message = original.message
        extensions.update(original.extensions)
    elif isinstance(original, BackendError):
        message = original.message
        extensions["service"] = original.service
    elif isinstance(original, IdentityError):
        message = original.message
    elif original is not None:
        log.error(
            "unexpected error at %s",
            error.path,
            exc_info=(type(original), original, original.__traceback__),
        )
        message = INTERNAL_MESSAGE
        if debug:
            extensions["exception"] = {
                "type": type(original).__name__,
                "message": str(original),
                "stacktrace": traceback.format_exception(original),
            }
    elif not debug:
        # Suggestions let anyone map a schema with introspection switched off.
        message = _SUGGESTION.sub("", message)
    formatted: dict[str, Any] = {"message": message}
    if error.locations:
        formatted["locations"] = [
            {"line": loc.line, "column": loc.column} for loc in error.locations
        ]
    if error.path:
        formatted["path"] = error.path
    formatted["extensions"] = extensions
    return formatted

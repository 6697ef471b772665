"""What the gateway needs from the services, and the failures it understands.

The GraphQL layer talks to ``Backend`` only; :mod:`gateway.core.backends`
implements it over HTTP and turns transport failures into these exceptions.
"""

from __future__ import annotations

from typing import Any, Protocol

from services.common.internal_auth import Principal


class BackendError(Exception):
    """A service refused a call with its error envelope (code, message, details)."""

    def __init__(
        self,
        service: str,
        *,
        code: str,
        message: str,
        status: int,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{service}: {code}: {message}")
        self.service = service
        self.code = code
        self.message = message
        self.status = status
        self.details = details or {}


class BackendUnavailable(BackendError):
    """The service could not answer: down, too slow, failing, or its circuit is open."""

    def __init__(self, service: str, message: str) -> None:
        super().__init__(service, code="SERVICE_UNAVAILABLE", message=message, status=503)


class Backend(Protocol):
    """One service, called as a principal, answering JSON."""

    service: str

    def call(
        self,
        method: str,
        path: str,
        principal: Principal,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        data: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """The decoded JSON body of a 2xx answer; :class:`BackendError` otherwise."""
        ...

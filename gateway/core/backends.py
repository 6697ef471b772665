"""Calls from the gateway to the services, as the caller, with the request id.

Every call carries a fresh internal token naming the caller (the services trust
nothing else) and the request's ``X-Request-ID``, and has a connect and a read
timeout. Only safe calls are retried, and only when the request never reached
the service or the service said it is overloaded. A circuit breaker per service
stops the gateway waiting on a service that keeps failing.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from gateway.core.breaker import CircuitBreaker
from gateway.interfaces import BackendError, BackendUnavailable
from services.common.errors import ServiceUnavailable
from services.common.internal_auth import Principal, issue_internal_token
from services.common.log import REQUEST_ID_HEADER, current_request_id

log = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
RETRYABLE_STATUSES = frozenset({502, 503, 504})
# Internal tokens kept per service client (one per recent caller).
MAX_CACHED_TOKENS = 10_000


class ServiceClient:
    """JSON over HTTP to one service (implements :class:`gateway.interfaces.Backend`)."""

    def __init__(
        self,
        service: str,
        base_url: str,
        *,
        secret: str,
        timeout: float,
        connect_timeout: float | None = None,
        retries: int = 1,
        breaker: CircuitBreaker | None = None,
        token_ttl_seconds: int = 60,
        pool_size: int = 16,
        session: requests.Session | None = None,
    ) -> None:
        self.service = service
        self.base_url = base_url.rstrip("/")
        self.secret = secret
        self.timeout = timeout
        self.connect_timeout = connect_timeout or timeout
        self.retries = retries
        self.breaker = breaker or CircuitBreaker(threshold=5, reset_seconds=10.0)
        self.token_ttl_seconds = token_ttl_seconds
        self.http = session or requests.Session()
        # The services are reached directly: no proxy, netrc or CA bundle lookups
        # from the environment on every call.
        self.http.trust_env = False
        self._tokens: dict[Principal, tuple[float, str]] = {}
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size)
        self.http.mount("http://", adapter)
        self.http.mount("https://", adapter)

    def token_for(self, principal: Principal) -> str:
        """An internal token for ``principal``, reused while it has most of its life left.

        Signing one per call costs more than the rest of a small call; a token
        is reused for at most a quarter of its lifetime, so it never reaches a
        service close to expiry.
        """
        now = time.monotonic()
        cached = self._tokens.get(principal)
        if cached is not None and cached[0] > now:
            return cached[1]
        token = issue_internal_token(
            principal, audience=self.service, secret=self.secret, ttl_seconds=self.token_ttl_seconds
        )
        if len(self._tokens) >= MAX_CACHED_TOKENS:
            self._tokens.clear()
        self._tokens[principal] = (now + self.token_ttl_seconds / 4, token)
        return token

    def headers_for(self, principal: Principal) -> dict[str, str]:
        token = self.token_for(principal)
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        request_id = current_request_id.get()
        if request_id:
            headers[REQUEST_ID_HEADER] = request_id
        return headers

    def request(
        self, method: str, path: str, principal: Principal, **kwargs: Any
    ) -> requests.Response:
        """Send one request; :class:`ServiceUnavailable` when the service cannot be reached."""
        try:
            return self.http.request(
                method,
                f"{self.base_url}{path}",
                headers=self.headers_for(principal),
                timeout=(self.connect_timeout, self.timeout),
                **kwargs,
            )
        except requests.RequestException as exc:
            raise ServiceUnavailable(
                f"The {self.service} service did not answer.", details={"service": self.service}
            ) from exc

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
        """The JSON body of a 2xx answer; :class:`BackendError` or :class:`BackendUnavailable`."""
        method = method.upper()
        attempts = 1 + (self.retries if method in SAFE_METHODS else 0)
        request_headers = {**self.headers_for(principal), **(headers or {})}
        for attempt in range(1, attempts + 1):
            if not self.breaker.allow():
                raise BackendUnavailable(
                    self.service, f"The {self.service} service is failing; not called for now."
                )
            try:
                response = self.http.request(
                    method,
                    f"{self.base_url}{path}",
                    params=params,
                    json=json,
                    data=data,
                    headers=request_headers,
                    timeout=(self.connect_timeout, self.timeout),
                )
            except requests.ConnectionError as exc:
                # Never reached the service (refused, reset before a reply): safe to retry a read.
                self.breaker.record_failure()
                if attempt < attempts and not isinstance(exc, requests.ReadTimeout):
                    continue
                raise BackendUnavailable(
                    self.service, f"The {self.service} service did not answer."
                ) from exc
            except requests.RequestException as exc:
                # A read timeout: the service may be doing the work; waiting again
                # would break the gateway's own deadline, so do not retry.
                self.breaker.record_failure()
                raise BackendUnavailable(
                    self.service, f"The {self.service} service did not answer in time."
                ) from exc
            if response.status_code >= 500:
                self.breaker.record_failure()
                if response.status_code in RETRYABLE_STATUSES and attempt < attempts:
                    continue
                raise BackendUnavailable(
                    self.service,
                    f"The {self.service} service failed (HTTP {response.status_code}).",
                )
            self.breaker.record_success()
            return self._decode(response)
        raise AssertionError("unreachable")  # pragma: no cover

    def _decode(self, response: requests.Response) -> Any:
        try:
            body = response.json() if response.content else None
        except ValueError:
            body = None
        if response.ok:
            return body
        envelope = body.get("error") if isinstance(body, dict) else None
        if not isinstance(envelope, dict):
            envelope = {}
        return_error = BackendError(
            self.service,
            code=str(envelope.get("code") or f"HTTP_{response.status_code}"),
            message=str(envelope.get("message") or response.reason or "Refused."),
            status=response.status_code,
            details=envelope.get("details") if isinstance(envelope.get("details"), dict) else None,
        )
        raise return_error

"""Calls from the gateway to the services, as the caller, with the request id.

Every call carries a fresh internal token naming the caller (the services trust
nothing else) and the request's ``X-Request-ID``, and has a connect and a read
timeout. Only safe calls are retried, and only when the request never reached
the service or the service said it is overloaded. A circuit breaker per service
stops the gateway waiting on a service that keeps failing.
"""

from __future__ import annotations

import json as json_module
import logging
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import orjson
import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3 import exceptions as urllib3_errors

from gateway.core.breaker import CircuitBreaker
from gateway.core.keepalive import KeepAliveConnections, NoAnswerInTime, NotDelivered
from gateway.interfaces import BackendError, BackendUnavailable
from services.common.errors import ServiceUnavailable
from services.common.internal_auth import Principal, issue_internal_token
from services.common.log import REQUEST_ID_HEADER, current_request_id

log = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
RETRYABLE_STATUSES = frozenset({502, 503, 504})
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
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
        self._pool = urllib3.connection_from_url(
            self.base_url,
            maxsize=pool_size,
            block=False,
            retries=False,
            timeout=urllib3.Timeout(connect=self.connect_timeout, read=self.timeout),
        )
        parts = urlsplit(self.base_url)
        self._path_prefix = parts.path
        # Plain http (the services next door): straight to the socket, a third of
        # urllib3's CPU per call; https keeps urllib3.
        self._lean = (
            KeepAliveConnections(
                parts.hostname or "127.0.0.1",
                parts.port or 80,
                connect_timeout=self.connect_timeout,
                read_timeout=self.timeout,
                max_idle=pool_size,
            )
            if parts.scheme == "http"
            else None
        )
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
                answer = self._send(
                    method, path, params=params, json=json, data=data, headers=request_headers
                )
            except _NeverReached as exc:
                # Refused, reset before a reply: safe to retry a read.
                self.breaker.record_failure()
                if attempt < attempts:
                    continue
                raise BackendUnavailable(
                    self.service, f"The {self.service} service did not answer."
                ) from exc
            except _TimedOut as exc:
                # A read timeout: the service may be doing the work; waiting again
                # would break the gateway's own deadline, so do not retry.
                self.breaker.record_failure()
                raise BackendUnavailable(
                    self.service, f"The {self.service} service did not answer in time."
                ) from exc
            if answer.status >= 500:
                self.breaker.record_failure()
                if answer.status in RETRYABLE_STATUSES and attempt < attempts:
                    continue
                raise BackendUnavailable(
                    self.service, f"The {self.service} service failed (HTTP {answer.status})."
                )
            self.breaker.record_success()
            return self._decode(answer)
        raise AssertionError("unreachable")  # pragma: no cover

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None,
        json: Any,
        data: Any,
        headers: dict[str, str],
    ) -> _Answer:
        """One attempt. JSON and bodiless calls (every read) go over kept-alive connections
        (:mod:`gateway.core.keepalive`; urllib3's pool for https); streamed bodies (uploads)
        go through requests."""
        if data is not None:
            return self._send_with_requests(
                method, path, params=params, json=json, data=data, headers=headers
            )
        # Ids and slugs arrive already quoted; anything else unsafe in a path is quoted here.
        url = quote(self._path_prefix + path, safe=_PATH_SAFE)
        query = {key: value for key, value in (params or {}).items() if value is not None}
        if query:
            url += "?" + urlencode(query, doseq=True)
        body = None
        if json is not None:
            body = json_module.dumps(json).encode()
            headers = {**headers, "Content-Type": "application/json"}
        if self._lean is not None:
            try:
                status, reason, content = self._lean.request(method, url, headers, body)
            except NotDelivered as exc:
                raise _NeverReached from exc
            except NoAnswerInTime as exc:
                raise _TimedOut from exc
            return _Answer(status, content, reason)
        try:
            response = self._pool.urlopen(
                method, url, body=body, headers=headers, retries=False, redirect=False
            )
        except (urllib3_errors.ReadTimeoutError, urllib3_errors.TimeoutError) as exc:
            if isinstance(exc, urllib3_errors.ConnectTimeoutError):
                raise _NeverReached from exc
            raise _TimedOut from exc
        except urllib3_errors.HTTPError as exc:
            raise _NeverReached from exc
        return _Answer(response.status, response.data, response.reason or "")

    def _send_with_requests(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None,
        json: Any,
        data: Any,
        headers: dict[str, str],
    ) -> _Answer:
        try:
            response = self.http.request(
                method,
                f"{self.base_url}{path}",
                params=params,
                json=json,
                data=data,
                headers=headers,
                timeout=(self.connect_timeout, self.timeout),
            )
        except requests.ConnectionError as exc:
            if isinstance(exc, requests.ReadTimeout):
                raise _TimedOut from exc
            raise _NeverReached from exc
        except requests.RequestException as exc:
            raise _TimedOut from exc
        return _Answer(response.status_code, response.content, response.reason or "")

    def _decode(self, answer: _Answer) -> Any:
        body = decode_json(answer.content)
        if answer.status < 400:
            return body
        envelope = body.get("error") if isinstance(body, dict) else None
        if not isinstance(envelope, dict):
            envelope = {}
        raise BackendError(
            self.service,
            code=str(envelope.get("code") or f"HTTP_{answer.status}"),
            message=str(envelope.get("message") or answer.reason or "Refused."),
            status=answer.status,
            details=envelope.get("details") if isinstance(envelope.get("details"), dict) else None,
        )


def decode_json(content: bytes) -> Any:
    """The JSON in ``content``, or None if there is none.

    orjson first (a page of 50 packs decodes in a quarter of the time); anything
    it refuses that the standard library accepts (NaN, integers past 64 bits)
    still decodes as before.
    """
    if not content:
        return None
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        pass
    try:
        return json_module.loads(content)
    except ValueError:
        return None


@dataclass(frozen=True)
class _Answer:
    status: int
    content: bytes
    reason: str


class _NeverReached(Exception):
    """The request did not reach the service (refused, reset, connect timeout)."""


class _TimedOut(Exception):
    """The service took the request but did not answer in time."""

"""Calls from the gateway to the services, as the caller, with the request id.

Every call carries a fresh internal token naming the caller (the services trust
nothing else) and the request's ``X-Request-ID``, and has a timeout.
"""

from __future__ import annotations

from typing import Any

import requests

from services.common.errors import ServiceUnavailable
from services.common.internal_auth import Principal, issue_internal_token
from services.common.log import REQUEST_ID_HEADER, current_request_id


class ServiceClient:
    """JSON over HTTP to one service."""

    def __init__(
        self,
        service: str,
        base_url: str,
        *,
        secret: str,
        timeout: float,
        token_ttl_seconds: int = 60,
        session: requests.Session | None = None,
    ) -> None:
        self.service = service
        self.base_url = base_url.rstrip("/")
        self.secret = secret
        self.timeout = timeout
        self.token_ttl_seconds = token_ttl_seconds
        self.http = session or requests.Session()

    def headers_for(self, principal: Principal) -> dict[str, str]:
        token = issue_internal_token(
            principal, audience=self.service, secret=self.secret, ttl_seconds=self.token_ttl_seconds
        )
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
                timeout=self.timeout,
                **kwargs,
            )
        except requests.RequestException as exc:
            raise ServiceUnavailable(
                f"The {self.service} service did not answer.", details={"service": self.service}
            ) from exc

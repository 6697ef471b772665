"""Settings of the gateway, from environment variables."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from services.common.settings import CommonSettings


class GatewaySettings(CommonSettings):
    service_name: ClassVar[str] = "gateway"

    # The services behind the GraphQL API.
    content_url: str = "http://127.0.0.1:8001"
    referrals_url: str = "http://127.0.0.1:8002"
    rewards_url: str = "http://127.0.0.1:8003"
    backend_timeout_seconds: float = Field(default=1.5, gt=0, le=30)
    backend_connect_timeout_seconds: float = Field(default=0.5, gt=0, le=10)
    backend_retries: int = Field(default=1, ge=0, le=3)
    backend_concurrency: int = Field(default=16, ge=1, le=256)
    circuit_failure_threshold: int = Field(default=5, ge=1, le=1000)
    circuit_reset_seconds: float = Field(default=10.0, gt=0, le=3600)

    # How many proxies in front of the gateway set X-Forwarded-For (for per-IP limits).
    proxy_hops: int = Field(default=0, ge=0, le=5)

    # Identity.
    token_ttl_seconds: int = Field(default=30 * 24 * 3600, ge=60)
    # How long a process trusts a token's owner without the database (0: never);
    # a revocation still counts at once (gateway/identity/token_cache.py).
    token_cache_seconds: float = Field(default=30.0, ge=0, le=300)
    session_cookie_name: str = "fanfare_session"
    csrf_cookie_name: str = "fanfare_csrf"
    cookie_secure: bool | None = None
    signup_limit_per_ip: int = Field(default=10, ge=1)
    login_limit_per_ip: int = Field(default=30, ge=1)
    login_limit_per_account: int = Field(default=10, ge=1)
    auth_limit_window_seconds: int = Field(default=900, ge=1)
    api_key_rate_per_second: float = Field(default=10.0, gt=0)
    api_key_burst: int = Field(default=50, ge=1)

    # GraphQL protections.
    graphql_max_depth: int = Field(default=12, ge=2, le=100)
    graphql_max_aliases: int = Field(default=30, ge=1)
    graphql_max_cost: int = Field(default=50_000, ge=1)
    graphql_max_page_size: int = Field(default=100, ge=1, le=100)
    graphql_max_batch: int = Field(default=10, ge=1, le=100)
    graphql_max_query_bytes: int = Field(default=20_000, ge=100)
    upload_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    graphql_document_cache_size: int = Field(default=500, ge=0)

    def backend_urls(self) -> dict[str, str]:
        return {
            "content": self.content_url,
            "referrals": self.referrals_url,
            "rewards": self.rewards_url,
        }

    @property
    def secure_cookies(self) -> bool:
        """Cookies are ``Secure`` in production unless ``COOKIE_SECURE`` says otherwise."""
        if self.cookie_secure is not None:
            return self.cookie_secure
        return self.environment == "production"

"""Settings of the gateway, from environment variables."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from services.common.settings import CommonSettings


class GatewaySettings(CommonSettings):
    service_name: ClassVar[str] = "gateway"

    content_url: str = "http://127.0.0.1:8001"
    referrals_url: str = "http://127.0.0.1:8002"
    rewards_url: str = "http://127.0.0.1:8003"
    backend_timeout_seconds: float = Field(default=2.0, gt=0, le=30)

    def backend_urls(self) -> dict[str, str]:
        return {
            "content": self.content_url,
            "referrals": self.referrals_url,
            "rewards": self.rewards_url,
        }

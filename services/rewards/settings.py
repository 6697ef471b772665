"""Settings of the rewards service, from environment variables."""

from __future__ import annotations

from typing import ClassVar

from services.common.settings import CommonSettings


class RewardsSettings(CommonSettings):
    service_name: ClassVar[str] = "rewards"

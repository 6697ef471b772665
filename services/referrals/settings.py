"""Settings of the referrals service, from environment variables."""

from __future__ import annotations

from typing import ClassVar

from services.common.settings import CommonSettings


class ReferralsSettings(CommonSettings):
    service_name: ClassVar[str] = "referrals"

"""Settings of the rewards service, from environment variables."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, SecretStr, field_validator

from services.common.settings import CommonSettings

TIER_ORDER: tuple[str, ...] = ("FAN", "ADVOCATE", "INSIDER", "AMBASSADOR")


def parse_tier_thresholds(text: str) -> dict[str, int]:
    """``"ADVOCATE=100,INSIDER=500"`` as ``{"FAN": 0, "ADVOCATE": 100, "INSIDER": 500, ...}``."""
    thresholds = {"FAN": 0}
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        name, sep, value = part.partition("=")
        name = name.strip().upper()
        if not sep or name not in TIER_ORDER or name == "FAN":
            raise ValueError(
                f"TIER_THRESHOLDS entry {part!r} must look like ADVOCATE=100 "
                f"(tiers: {', '.join(TIER_ORDER[1:])})"
            )
        thresholds[name] = int(value)
    missing = [tier for tier in TIER_ORDER if tier not in thresholds]
    if missing:
        raise ValueError(f"TIER_THRESHOLDS lacks {', '.join(missing)}")
    values = [thresholds[tier] for tier in TIER_ORDER]
    if values != sorted(values) or len(set(values)) != len(values):
        raise ValueError("TIER_THRESHOLDS must rise strictly from ADVOCATE to AMBASSADOR")
    return thresholds


class RewardsSettings(CommonSettings):
    service_name: ClassVar[str] = "rewards"

    tier_thresholds: str = "ADVOCATE=100,INSIDER=500,AMBASSADOR=2000"
    smtp_url: str = ""
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_timeout_seconds: float = Field(default=10.0, gt=0)
    mail_from: str = "Fanfare <thanks@fanfare.local>"
    gift_card_provider: Literal["manual"] = "manual"
    delivery_max_retries: int = Field(default=5, ge=0, le=50)
    delivery_retry_backoff_seconds: float = Field(default=5.0, ge=0)
    delivery_sweep_interval_seconds: float = Field(default=60.0, gt=0)
    delivery_sweep_grace_seconds: float = Field(default=120.0, ge=0)
    digest_interval_seconds: float = Field(default=3600.0, gt=0)
    task_time_limit_seconds: int = Field(default=120, ge=1)

    @field_validator("tier_thresholds")
    @classmethod
    def _valid_thresholds(cls, value: str) -> str:
        parse_tier_thresholds(value)
        return value

    @property
    def tiers(self) -> dict[str, int]:
        return parse_tier_thresholds(self.tier_thresholds)

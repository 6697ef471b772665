"""Settings of the referrals service, from environment variables."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, SecretStr, model_validator

from services.common.settings import CommonSettings

DEV_VISITOR_HASH_SECRET = "dev-only-visitor-hash-secret-change-me"  # noqa: S105


class ReferralsSettings(CommonSettings):
    service_name: ClassVar[str] = "referrals"

    short_link_base_url: str = "http://127.0.0.1:8002"
    # Raw clicks are kept this long (daily roll-ups forever); at least the attribution
    # window, or a click id could not be matched while it still counts.
    click_retention_days: int = Field(default=90, ge=1, le=3650)
    attribution_window_days: int = Field(default=30, ge=1, le=365)
    conversion_hold_days: int = Field(default=0, ge=0, le=365)
    max_conversions_per_ip_per_day: int = Field(default=5, ge=1)
    require_human_click: bool = True
    visitor_hash_secret: SecretStr = SecretStr(DEV_VISITOR_HASH_SECRET)
    # Clients closer than this many proxies are trusted to set X-Forwarded-For.
    trusted_proxy_count: int = Field(default=0, ge=0, le=5)

    click_stream_key: str = "referrals:clicks"
    # The web process sends clicks to the stream in pipelined batches of this many,
    # or every CLICK_FLUSH_INTERVAL_SECONDS, whichever comes first.
    click_buffer_size: int = Field(default=100, ge=1, le=10_000)
    click_flush_interval_seconds: float = Field(default=0.05, gt=0, le=5)
    click_drain_batch_size: int = Field(default=5000, ge=1, le=50_000)
    click_drain_interval_seconds: float = Field(default=1.0, gt=0)
    link_cache_ttl_seconds: float = Field(default=30.0, ge=0)
    link_cache_max_entries: int = Field(default=100_000, ge=0)

    hold_release_interval_seconds: float = Field(default=60.0, gt=0)
    retention_interval_seconds: float = Field(default=3600.0, gt=0)

    @model_validator(mode="after")
    def _check_referral_settings(self) -> ReferralsSettings:
        if self.click_retention_days < self.attribution_window_days:
            raise ValueError(
                "CLICK_RETENTION_DAYS must be at least ATTRIBUTION_WINDOW_DAYS, or click ids "
                "would be deleted while they can still be credited"
            )
        secret = self.visitor_hash_secret.get_secret_value()
        if self.environment == "production" and secret == DEV_VISITOR_HASH_SECRET:
            raise ValueError("VISITOR_HASH_SECRET must be set to a private value in production")
        if len(secret) < 32:
            raise ValueError("VISITOR_HASH_SECRET must be at least 32 characters long")
        return self

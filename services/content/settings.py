"""Settings of the content service, from environment variables."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any, ClassVar

from pydantic import Field, SecretStr, field_validator, model_validator

from services.common.settings import CommonSettings, var_dir_of

# The incentive disclosure regulators expect on rewarded posts (FTC, ASA).
DEFAULT_DISCLOSURE = "#ad"


class ContentSettings(CommonSettings):
    service_name: ClassVar[str] = "content"

    storage_url: str = ""
    s3_endpoint_url: str = ""
    s3_region: str = "us-east-1"
    s3_access_key_id: SecretStr = SecretStr("")
    s3_secret_access_key: SecretStr = SecretStr("")
    content_allowed_hosts: str = "example.com,.example.com"
    short_link_host: str = ""
    content_public_url: str = "http://127.0.0.1:8001"
    max_upload_bytes: int = Field(default=25 * 1024 * 1024, ge=1024, le=512 * 1024 * 1024)
    max_image_pixels: int = Field(default=50_000_000, ge=10_000, le=400_000_000)
    signed_url_ttl_seconds: int = Field(default=3600, ge=30, le=7 * 24 * 3600)
    direct_upload_ttl_seconds: int = Field(default=900, ge=30, le=900)
    media_signing_secret: SecretStr = SecretStr("")
    default_disclosure: str = Field(default=DEFAULT_DISCLOSURE, min_length=1, max_length=50)
    asset_task_soft_time_limit_seconds: int = Field(default=120, ge=1, le=3600)
    asset_task_max_attempts: int = Field(default=3, ge=1, le=20)
    asset_stuck_after_seconds: int = Field(default=600, ge=10)
    asset_sweep_interval_seconds: float = Field(default=60.0, gt=0)
    worker_memory_limit_mb: int = Field(default=2048, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _fill_storage_default(cls, values: Any) -> Any:
        if isinstance(values, dict) and not values.get("storage_url"):
            values = {**values, "storage_url": f"file://{var_dir_of(values) / 'files'}"}
        return values

    @field_validator("storage_url")
    @classmethod
    def _known_storage_scheme(cls, value: str) -> str:
        if not value.startswith(("file:///", "s3://")):
            raise ValueError("STORAGE_URL must be file:///absolute/dir or s3://bucket/prefix")
        return value

    @field_validator("content_public_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @property
    def allowed_destination_hosts(self) -> tuple[str, ...]:
        """CONTENT_ALLOWED_HOSTS as lower-cased entries; ".x.com" also allows subdomains."""
        return tuple(
            host.strip().lower().rstrip(".")
            for host in self.content_allowed_hosts.split(",")
            if host.strip()
        )

    @property
    def media_signing_key(self) -> bytes:
        """MEDIA_SIGNING_SECRET, or a key derived from the internal token secret."""
        own = self.media_signing_secret.get_secret_value()
        if own:
            return own.encode()
        # A distinct derived key: a media URL signature never doubles as a token signature.
        root = self.internal_token_secret.get_secret_value().encode()
        return hmac.new(root, b"fanfare-content-media-urls-v1", hashlib.sha256).digest()

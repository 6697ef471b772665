"""Typed settings read from environment variables, one object per app.

Every app reads its configuration here and nowhere else. Secrets are
``SecretStr`` so that printing or logging a settings object never shows them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_INTERNAL_TOKEN_SECRET = "dev-only-internal-token-secret-change-me"  # noqa: S105
EMBEDDED_SECRET_FILE = "secrets/internal-token-secret"  # noqa: S105 - a path, not a secret


def default_var_dir() -> Path:
    """Where the embedded default keeps its files (``FANFARE_VAR_DIR`` or ``./var``)."""
    return Path(os.environ.get("FANFARE_VAR_DIR", "var")).resolve()


def var_dir_of(values: dict[str, Any]) -> Path:
    """The var directory named by raw settings values (for defaults computed from it)."""
    return Path(values.get("FANFARE_VAR_DIR") or values.get("var_dir") or default_var_dir())


class CommonSettings(BaseSettings):
    """Settings every service reads; subclasses add their own."""

    model_config = SettingsConfigDict(
        extra="ignore", frozen=True, case_sensitive=False, populate_by_name=True
    )

    service_name: ClassVar[str] = "common"

    environment: Literal["development", "test", "production"] = Field(
        default="development", validation_alias="FANFARE_ENV"
    )
    var_dir: Path = Field(default_factory=default_var_dir, validation_alias="FANFARE_VAR_DIR")
    database_url: str = ""
    redis_url: str = "redis://127.0.0.1:6379/0"
    internal_token_secret: SecretStr = SecretStr(DEV_INTERNAL_TOKEN_SECRET)
    internal_token_ttl_seconds: int = Field(default=60, ge=5, le=600)
    log_level: str = "INFO"
    log_format: Literal["json", "text"] = "json"
    outbox_relay_interval_seconds: float = Field(default=1.0, gt=0)
    # How often the relay process (`fanfare relay`) looks for unsent events.
    outbox_relay_poll_seconds: float = Field(default=0.05, gt=0)
    # On PostgreSQL the relay process also wakes when an outbox write commits (NOTIFY),
    # but runs passes at least this far apart, so a burst of writes makes one pass.
    outbox_relay_min_gap_seconds: float = Field(default=0.02, ge=0)
    # While every queue the outbox feeds still holds a task no worker has taken, the relay
    # process puts its next pass off, up to this long, so that the events meanwhile go out
    # as one larger task rather than as several small ones queued behind (0 turns it off).
    outbox_relay_hold_seconds: float = Field(default=0.1, ge=0)
    outbox_relay_batch_size: int = Field(default=500, ge=1, le=10_000)
    event_delivery_batch_size: int = Field(default=100, ge=1, le=1_000)
    event_max_retries: int = Field(default=5, ge=0, le=50)
    event_retry_backoff_seconds: float = Field(default=2.0, ge=0)
    broker_visibility_timeout_seconds: int = Field(default=3600, ge=1)
    event_confirm_grace_seconds: float = Field(default=600.0, gt=0)
    outbox_retention_days: int = Field(default=7, ge=1)
    processed_events_retention_days: int = Field(default=30, ge=1)
    event_retention_interval_seconds: float = Field(default=3600.0, gt=0)
    readiness_timeout_seconds: float = Field(default=2.0, gt=0)
    prometheus_multiproc_dir: str | None = None
    worker_metrics_port: int = Field(default=0, ge=0, le=65535)

    @model_validator(mode="before")
    @classmethod
    def _fill_database_default(cls, values: Any) -> Any:
        if isinstance(values, dict) and not values.get("database_url"):
            database = var_dir_of(values) / f"{cls.service_name}.db"
            values = {**values, "database_url": f"sqlite:///{database}"}
        return values

    @model_validator(mode="before")
    @classmethod
    def _fill_embedded_secret(cls, values: Any) -> Any:
        # `fanfare dev` keeps a random secret under var/ so that every command
        # run beside it (seed-demo, create-user...) signs tokens the apps accept.
        if isinstance(values, dict) and not values.get("internal_token_secret"):
            kept = var_dir_of(values) / EMBEDDED_SECRET_FILE
            if kept.is_file():
                values = {**values, "internal_token_secret": kept.read_text().strip()}
        return values

    @model_validator(mode="after")
    def _refuse_dev_secret_in_production(self) -> CommonSettings:
        if (
            self.environment == "production"
            and self.internal_token_secret.get_secret_value() == DEV_INTERNAL_TOKEN_SECRET
        ):
            raise ValueError("INTERNAL_TOKEN_SECRET must be set to a private value in production")
        if len(self.internal_token_secret.get_secret_value()) < 32:
            raise ValueError("INTERNAL_TOKEN_SECRET must be at least 32 characters long")
        return self

    @model_validator(mode="after")
    def _keep_processed_events_longer_than_the_outbox(self) -> CommonSettings:
        # Why: see services/common/event_retention.py (the inbox must outlive
        # every re-send of an event, and a producer re-sends while it keeps the row).
        if self.processed_events_retention_days <= self.outbox_retention_days:
            raise ValueError(
                "PROCESSED_EVENTS_RETENTION_DAYS "
                f"({self.processed_events_retention_days}) must be greater than "
                f"OUTBOX_RETENTION_DAYS ({self.outbox_retention_days}): a consumer must "
                "remember an event id for longer than its producer may send the event again"
            )
        return self

    @property
    def is_debug(self) -> bool:
        return self.environment != "production"

    @classmethod
    def env_var_names(cls) -> frozenset[str]:
        """The environment variables this settings class reads."""
        names = set()
        for name, field in cls.model_fields.items():
            alias = field.validation_alias
            names.add(alias.upper() if isinstance(alias, str) else name.upper())
        return frozenset(names)

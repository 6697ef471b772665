"""Settings of the content service, from environment variables."""

from __future__ import annotations

from typing import ClassVar

from services.common.settings import CommonSettings


class ContentSettings(CommonSettings):
    service_name: ClassVar[str] = "content"

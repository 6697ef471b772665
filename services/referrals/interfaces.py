"""Outside systems the referrals service leans on, and the failures they raise.

Clicks leave the web process through a :class:`ClickSink`: the Redis stream in
normal operation, the database directly when Redis cannot take them. Nothing
above the adapters imports ``redis``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from services.referrals.clicks import Click


class ClickSinkUnavailable(Exception):
    """The sink could not take the clicks; they are still the caller's to keep."""


class ClickSink(Protocol):
    def push(self, clicks: Sequence[Click]) -> None:
        """Take every click or none: raise :class:`ClickSinkUnavailable` on failure."""


class LinkCacheUnavailable(Exception):
    """The shared cache did not answer; fall back to the database."""


class SharedCache(Protocol):
    """A key-value cache shared by every process of the service (Redis)."""

    def get(self, key: str) -> str | None: ...

    def set(self, key: str, value: str, ttl_seconds: int) -> None: ...

    def delete(self, key: str) -> None: ...

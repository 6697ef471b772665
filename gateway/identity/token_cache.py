"""Who a token belongs to, remembered briefly per process; a revocation still counts at once.

Finding a token's owner is a database round trip on every request. Each
process remembers what it found for at most ``ttl_seconds``, tagged with the
*identity generation*: a counter in Redis that every change to users or tokens
(log-out, erasure, new preferences) increments once it is committed. Every
request reads the generation (one Redis GET, a fraction of the lookup's cost)
and trusts a remembered owner only if it was stored under the same generation,
so a revoked token is refused by every process on its very next request.

The generation is read *before* the database: an owner read before a change
committed carries the older generation and is never trusted after it. When
Redis cannot be read, nothing is remembered or trusted and the database
answers. Expiry is checked on every use against the token's own ``expires_at``.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis

from gateway.identity.users import TokenKind, TokenOwner
from gateway.models import User
from services.common.utc_time import utcnow

log = logging.getLogger(__name__)

GENERATION_KEY = "gateway:identity-generation"
# What a never-bumped generation reads as: a missing key is a generation too.
_FIRST_GENERATION = b"0"
_USER_COLUMNS = tuple(column.key for column in User.__table__.columns)


@dataclass(frozen=True)
class _Remembered:
    user_values: dict[str, Any]
    token_hash: str
    expires_at: datetime
    generation: bytes
    stored_at: float


class TokenOwnerCache:
    """Token owners by (kind, token hash), trusted only under the current generation."""

    def __init__(
        self, redis_client: redis.Redis, *, ttl_seconds: float, max_entries: int = 10_000
    ) -> None:
        self.redis = redis_client
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._entries: dict[tuple[str, str], _Remembered] = {}
        self._lock = threading.Lock()

    def generation(self) -> bytes | None:
        """The current identity generation; None when Redis cannot say (trust nothing)."""
        if self.ttl_seconds <= 0:
            return None
        try:
            value = self.redis.get(GENERATION_KEY)
        except redis.RedisError:
            return None
        if value is None:
            return _FIRST_GENERATION
        return value if isinstance(value, bytes) else str(value).encode()

    def get(self, kind: TokenKind, token_hash: str, generation: bytes | None) -> TokenOwner | None:
        """The remembered owner, if stored under ``generation``, recently, and not expired."""
        if generation is None:
            return None
        entry = self._entries.get((kind, token_hash))
        if entry is None:
            return None
        if (
            entry.generation != generation
            or time.monotonic() - entry.stored_at >= self.ttl_seconds
            or entry.expires_at <= utcnow()
        ):
            self._entries.pop((kind, token_hash), None)
            return None
        # A fresh row object per request: nothing is shared between requests.
        return TokenOwner(User(**entry.user_values), entry.token_hash, entry.expires_at)

    def put(self, kind: TokenKind, owner: TokenOwner, generation: bytes | None) -> None:
        """Remember ``owner``, found in the database after ``generation`` was read."""
        if generation is None or owner.expires_at is None:
            return
        entry = _Remembered(
            user_values={name: getattr(owner.user, name) for name in _USER_COLUMNS},
            token_hash=owner.token_hash,
            expires_at=owner.expires_at,
            generation=generation,
            stored_at=time.monotonic(),
        )
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[(kind, owner.token_hash)] = entry


def identity_changed(redis_client: redis.Redis) -> None:
    """Call after committing a change to users or tokens: every remembered owner is stale."""
    for attempt in (1, 2):
        try:
            redis_client.incr(GENERATION_KEY)
            return
        except redis.RedisError:
            if attempt == 2:
                # Remembered owners elsewhere live at most the cache's TTL; say so loudly.
                log.exception("could not bump the identity generation in Redis")

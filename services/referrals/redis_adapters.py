"""Redis behind the service's interfaces: the click stream and the shared link cache.

Redis errors become :class:`ClickSinkUnavailable` / :class:`LinkCacheUnavailable`.
After a failure the adapters stop asking Redis for a few seconds, so a dead
Redis costs the redirect one failed attempt, not one per request.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import redis

from services.referrals.clicks import Click
from services.referrals.interfaces import ClickSinkUnavailable, LinkCacheUnavailable

DRAIN_GROUP = "ingest"
DRAIN_CONSUMER = "drainer"

# Each argument becomes one stream entry {c: <click>}, exactly what XADD would write;
# a script runs whole, so a batch is in the stream entirely or not at all.
_APPEND_CLICKS = """
for index = 1, #ARGV do
  redis.call('XADD', KEYS[1], '*', 'c', ARGV[index])
end
return #ARGV
"""
# Clicks per script call: bounds how long one call holds Redis (about 1 microsecond each).
PUSH_CHUNK = 1000


class CircuitBreaker:
    """Open for ``cooldown`` seconds after a failure: callers skip the remote while open."""

    def __init__(self, cooldown: float = 2.0) -> None:
        self.cooldown = cooldown
        self._open_until = 0.0

    @property
    def is_open(self) -> bool:
        return time.monotonic() < self._open_until

    def trip(self) -> None:
        self._open_until = time.monotonic() + self.cooldown

    def reset(self) -> None:
        self._open_until = 0.0


class RedisSharedCache:
    def __init__(self, client: redis.Redis, breaker: CircuitBreaker | None = None) -> None:
        self.client = client
        self.breaker = breaker or CircuitBreaker()

    def get(self, key: str) -> str | None:
        if self.breaker.is_open:
            raise LinkCacheUnavailable("Redis is resting after a failure")
        try:
            value = self.client.get(key)
        except redis.RedisError as exc:
            self.breaker.trip()
            raise LinkCacheUnavailable(str(exc)) from exc
        if value is None:
            return None
        return value.decode() if isinstance(value, bytes) else str(value)

    def set(self, key: str, value: str, ttl_seconds: int) -> None:
        if self.breaker.is_open:
            return
        try:
            self.client.set(key, value, ex=max(1, ttl_seconds))
        except redis.RedisError:
            self.breaker.trip()

    def delete(self, key: str) -> None:
        try:
            self.client.delete(key)
        except redis.RedisError:
            self.breaker.trip()


class RedisClickStream:
    """The Redis stream the redirect appends clicks to and the drain reads from."""

    def __init__(
        self, client: redis.Redis, key: str, breaker: CircuitBreaker | None = None
    ) -> None:
        self.client = client
        self.key = key
        self.breaker = breaker or CircuitBreaker()
        self._append = client.register_script(_APPEND_CLICKS)

    def push(self, clicks: Sequence[Click]) -> None:
        """Append ``clicks`` to the stream, one entry each, all or none.

        One command per ``PUSH_CHUNK`` clicks (a server-side script adding them one by
        one) rather than one XADD each: redis-py builds and parses a command in some
        20 microseconds of Python, and the web process's flusher holds the GIL while it
        does, so a request arriving during a flush of a hundred clicks waited milliseconds.
        """
        if not clicks:
            return
        if self.breaker.is_open:
            raise ClickSinkUnavailable("Redis is resting after a failure")
        encoded = [click.encode() for click in clicks]
        try:
            if len(encoded) <= PUSH_CHUNK:
                self._append(keys=[self.key], args=encoded)
            else:
                # A batch held back through an outage: several commands, still all or none.
                with self.client.pipeline(transaction=True) as pipe:
                    for start in range(0, len(encoded), PUSH_CHUNK):
                        chunk = encoded[start : start + PUSH_CHUNK]
                        self._append(keys=[self.key], args=chunk, client=pipe)
                    pipe.execute()
        except redis.RedisError as exc:
            self.breaker.trip()
            raise ClickSinkUnavailable(str(exc)) from exc

    def ensure_group(self) -> None:
        try:
            self.client.xgroup_create(self.key, DRAIN_GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def read(self, count: int, *, pending: bool) -> StreamBatch:
        """Entries handed to the drain: its unacknowledged ones first, then new ones."""
        answer: Any = self.client.xreadgroup(
            DRAIN_GROUP, DRAIN_CONSUMER, {self.key: "0" if pending else ">"}, count=count
        )
        entry_ids: list[str] = []
        clicks: list[Click] = []
        malformed: dict[str, str] = {}
        for _stream, entries in answer or []:
            for raw_id, fields in entries:
                entry_id = raw_id.decode() if isinstance(raw_id, bytes) else str(raw_id)
                entry_ids.append(entry_id)
                data = fields.get(b"c") or fields.get("c")
                try:
                    clicks.append(Click.decode(data))
                except (TypeError, ValueError, KeyError) as exc:
                    malformed[entry_id] = f"{exc!r}: {data!r}"[:2000]
        return StreamBatch(entry_ids=entry_ids, clicks=clicks, malformed=malformed)

    def acknowledge(self, entry_ids: Sequence[str]) -> None:
        if not entry_ids:
            return
        with self.client.pipeline(transaction=True) as pipe:
            pipe.xack(self.key, DRAIN_GROUP, *entry_ids)
            pipe.xdel(self.key, *entry_ids)
            pipe.execute()

    def length(self) -> int:
        return int(self.client.xlen(self.key))


@dataclass
class StreamBatch:
    entry_ids: list[str]
    clicks: list[Click]
    # Entries that are not clicks this service wrote: parked, never retried.
    malformed: dict[str, str] = field(default_factory=dict)

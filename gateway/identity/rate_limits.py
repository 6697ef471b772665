"""Rate limits kept in Redis, so every gateway process shares them.

Sign-up and log-in attempts are counted in fixed windows per IP and per
account; partner keys draw from a token bucket (steady rate plus a burst).
Both are single atomic Redis operations: no read-then-write races.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import redis

# INCR and set the window's expiry on the first hit, in one step (Redis 6.2
# has no EXPIRE NX); returns the count and the seconds left in the window.
WINDOW_SCRIPT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[1]))
end
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[1]))
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
"""

BUCKET_SCRIPT = """
local key = KEYS[1]
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local state = redis.call('HMGET', key, 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil then
  tokens = burst
  at = now
end
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local allowed = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', key, 'tokens', tokens, 'at', now)
redis.call('PEXPIRE', key, math.ceil(burst / rate * 1000) + 1000)
return {allowed, tostring(wait)}
"""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: int


class FixedWindowLimiter:
    """At most ``limit`` hits per key in each ``window`` seconds."""

    def __init__(self, client: redis.Redis, *, name: str, limit: int, window: int) -> None:
        self.client = client
        self.name = name
        self.limit = limit
        self.window = window
        self._script = client.register_script(WINDOW_SCRIPT)

    def hit(self, key: str) -> Decision:
        count, ttl = self._script(keys=[f"ratelimit:{self.name}:{key}"], args=[self.window])
        if int(count) > self.limit:
            return Decision(False, max(1, int(ttl)))
        return Decision(True, 0)

    def reset(self, key: str) -> None:
        self.client.delete(f"ratelimit:{self.name}:{key}")


class TokenBucketLimiter:
    """``rate`` requests a second on average, with bursts of up to ``burst``."""

    def __init__(self, client: redis.Redis, *, name: str, rate: float, burst: int) -> None:
        self.client = client
        self.name = name
        self.rate = rate
        self.burst = burst
        self._script = client.register_script(BUCKET_SCRIPT)

    def take(self, key: str) -> Decision:
        allowed, wait = self._script(
            keys=[f"bucket:{self.name}:{key}"], args=[self.rate, self.burst, time.time()]
        )
        if int(allowed):
            return Decision(True, 0)
        return Decision(False, max(1, math.ceil(float(wait))))

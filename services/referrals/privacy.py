"""Hashes that stand in for personal data: no raw IP address or email is ever stored.

Visitors are counted by an HMAC of their IP address and user agent under a key
derived from ``VISITOR_HASH_SECRET`` and the UTC date, so the hashes of one day
cannot be linked to those of another, nor reversed by trying every IPv4 address
without the secret.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import date

_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
_SHA256_BLOCK = 64
_IPAD = bytes.maketrans(bytes(range(256)), bytes(byte ^ 0x36 for byte in range(256)))
_OPAD = bytes.maketrans(bytes(range(256)), bytes(byte ^ 0x5C for byte in range(256)))


class DayKey:
    """HMAC-SHA256 under one day's key, with the key's two padded blocks hashed once.

    An HMAC hashes ``key XOR ipad`` and ``key XOR opad`` before the message; those two
    SHA-256 states never change for a key, so they are kept and copied per message. The
    digests are exactly ``hmac.digest(key, message, "sha256")`` (a test checks), at half
    its cost: OpenSSL 3 looks the digest up by name and sets the key up on every
    one-shot call, and the redirect makes two per click.
    """

    def __init__(self, key: bytes) -> None:
        block = key.ljust(_SHA256_BLOCK, b"\0")
        self._inner = hashlib.sha256(block.translate(_IPAD))
        self._outer = hashlib.sha256(block.translate(_OPAD))

    def digest(self, message: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()


class VisitorHasher:
    """Derives the day's key once and hashes visitors with it."""

    def __init__(self, secret: str) -> None:
        self._secret = secret.encode()
        self._day: date | None = None
        self._key = b""
        self._day_key = DayKey(b"")

    def key_for(self, day: date) -> bytes:
        if day != self._day:
            # A SHA-256 output (32 bytes) is shorter than the block, as DayKey needs.
            self._key = hmac.new(self._secret, day.isoformat().encode(), hashlib.sha256).digest()
            self._day_key = DayKey(self._key)
            self._day = day
        return self._key

    def _keyed(self, day: date) -> DayKey:
        if day != self._day:
            self.key_for(day)
        return self._day_key

    def ip_hash(self, ip: str, day: date) -> str:
        return self._keyed(day).digest(b"ip\x00" + ip.encode())[:16].hex()

    def visitor_hash(self, ip: str, user_agent: str, day: date) -> str:
        message = b"visitor\x00" + ip.encode() + b"\x00" + user_agent.encode(errors="replace")
        return self._keyed(day).digest(message)[:16].hex()


def email_digest(email: str) -> str:
    """SHA-256 hex of the trimmed, lower-cased email: how fans and customers are compared."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def customer_digest(customer_ref: str) -> str:
    """A partner's customer reference as a digest: kept as is if it already is one."""
    candidate = customer_ref.strip().lower()
    if _SHA256_HEX.match(candidate):
        return candidate
    return email_digest(customer_ref)


def is_sha256_hex(value: str) -> bool:
    return bool(_SHA256_HEX.match(value))

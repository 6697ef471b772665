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


class VisitorHasher:
    """Derives the day's key once and hashes visitors with it."""

    def __init__(self, secret: str) -> None:
        self._secret = secret.encode()
        self._day: date | None = None
        self._key = b""

    def key_for(self, day: date) -> bytes:
        if day != self._day:
            self._key = hmac.new(self._secret, day.isoformat().encode(), hashlib.sha256).digest()
            self._day = day
        return self._key

    # hmac.digest is the one-shot C path: the same HMAC as hmac.new(...).digest(), without
    # building an HMAC object (half the cost, and the redirect makes two per click).
    def ip_hash(self, ip: str, day: date) -> str:
        return hmac.digest(self.key_for(day), b"ip\x00" + ip.encode(), "sha256").hex()[:32]

    def visitor_hash(self, ip: str, user_agent: str, day: date) -> str:
        message = b"visitor\x00" + ip.encode() + b"\x00" + user_agent.encode(errors="replace")
        return hmac.digest(self.key_for(day), message, "sha256").hex()[:32]


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

"""Random credentials (bearer tokens, session ids, API keys) and how they are stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets

TOKEN_PREFIX = "fft_"  # noqa: S105 - a public prefix, not a secret
API_KEY_PREFIX = "ffk_"
API_KEY_PREFIX_LENGTH = 8


def new_token() -> str:
    """A bearer token: 256 random bits, recognisable by its prefix."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_api_key() -> tuple[str, str]:
    """An API key secret and its public prefix (``ffk_`` and eight characters)."""
    prefix = API_KEY_PREFIX + secrets.token_hex(API_KEY_PREFIX_LENGTH // 2)
    return f"{prefix}_{secrets.token_urlsafe(32)}", prefix


def hash_secret(secret: str) -> str:
    """SHA-256 hex: enough for 256-bit random secrets (passwords get argon2)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def csrf_token_for(session_token_hash: str, key: str) -> str:
    """The CSRF token bound to one cookie session: an HMAC only the gateway can make."""
    return hmac.new(key.encode(), session_token_hash.encode(), hashlib.sha256).hexdigest()


def same_secret(left: str, right: str) -> bool:
    return hmac.compare_digest(left.encode(), right.encode())

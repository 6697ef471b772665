"""Expiring HMAC signatures for URLs the content service serves itself."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time


class UrlSigner:
    """Signs (path, expiry) pairs so a URL works until it expires and cannot be altered."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def sign(self, path: str, expires_at: int) -> str:
        mac = hmac.new(self._key, f"{path}\n{expires_at}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()

    def verify(
        self, path: str, expires_at: int, signature: str, *, now: float | None = None
    ) -> bool:
        """True if ``signature`` is ours for ``path`` and ``expires_at`` has not passed."""
        if expires_at < (time.time() if now is None else now):
            return False
        return hmac.compare_digest(self.sign(path, expires_at), signature)

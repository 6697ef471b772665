"""Expiring HMAC signatures for URLs the content service serves itself."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time


class UrlSigner:
    """Signs (path, expiry) pairs so a URL works until it expires and cannot be altered."""

    def __init__(self, key: bytes) -> None:
        # Keyed once: each signature copies this state instead of re-deriving the key pads.
        self._keyed = hmac.new(key, digestmod=hashlib.sha256)

    def sign(self, path: str, expires_at: int) -> str:
        mac = self._keyed.copy()
        mac.update(f"{path}\n{expires_at}".encode())
        return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()

    def verify(
        self, path: str, expires_at: int, signature: str, *, now: float | None = None
    ) -> bool:
        """True if ``signature`` is ours for ``path`` and ``expires_at`` has not passed."""
        if expires_at < (time.time() if now is None else now):
            return False
        # Ours are ASCII; compare_digest refuses (TypeError) to compare other text at all.
        if not signature.isascii():
            return False
        return hmac.compare_digest(self.sign(path, expires_at), signature)

"""Signed URLs reused for a short while, so a page of packs signs nothing it signed a minute ago.

A signed URL is valid for ``ttl`` seconds from when it was signed. Handing the
same URL out again for up to ``reuse`` seconds means a caller may receive one
with ``ttl - reuse`` seconds left instead of ``ttl``: the expiry inside the URL
is still the true one, and ``reuse`` is kept to a small part of ``ttl``.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from services.content.interfaces import Storage

# Reuse a URL for at most this long, and never for more than a tenth of its lifetime.
MAX_REUSE_SECONDS = 60
DEFAULT_MAX_ENTRIES = 20_000


def reuse_seconds_for(ttl_seconds: int) -> int:
    return max(0, min(MAX_REUSE_SECONDS, ttl_seconds // 10))


class SignedUrlCache:
    """``storage.signed_url(key, expires_in=ttl)``, remembered per key for ``reuse`` seconds."""

    def __init__(
        self,
        storage: Storage,
        *,
        ttl_seconds: int,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._storage = storage
        self._ttl = ttl_seconds
        self._reuse = reuse_seconds_for(ttl_seconds)
        self._max_entries = max_entries
        self._clock = clock
        self._urls: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._lock = threading.Lock()

    def url(self, key: str) -> str:
        """A URL for ``key`` with at least ``ttl - reuse`` seconds of validity left."""
        now = self._clock()
        with self._lock:
            cached = self._urls.get(key)
            if cached is not None and now - cached[0] < self._reuse:
                return cached[1]
        url = self._storage.signed_url(key, expires_in=self._ttl)
        with self._lock:
            self._urls[key] = (now, url)
            self._urls.move_to_end(key)
            while len(self._urls) > self._max_entries:
                self._urls.popitem(last=False)
        return url

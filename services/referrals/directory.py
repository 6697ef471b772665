"""Where the redirect finds links and packs: this process, then Redis, then the database.

Links never change once made (erasure only unties them from their fan, which the
redirect does not need), so they stay long in the in-process cache. Packs do
change; they are kept ``LINK_CACHE_TTL_SECONDS`` in-process and dropped from
Redis when a pack event arrives.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from typing import Generic, NamedTuple, TypeVar

from sqlalchemy import select

from services.common.db import Database
from services.referrals.interfaces import LinkCacheUnavailable, SharedCache
from services.referrals.link_reader import link_reader_for
from services.referrals.models import packs
from services.referrals.packs import PackView

T = TypeVar("T")

LINK_REDIS_TTL = 24 * 3600
PACK_REDIS_TTL = 3600
UNKNOWN_REDIS_TTL = 60
_UNKNOWN = "-"


class LinkTarget(NamedTuple):
    """A link as the redirect needs it.

    A NamedTuple rather than a frozen dataclass: the redirect builds one per request,
    and a frozen dataclass's ``__init__`` (one ``object.__setattr__`` per field) cost
    about three times as much.
    """

    link_id: int
    code: str
    pack_id: str
    channel: str

    def to_cache(self) -> str:
        return json.dumps([self.link_id, self.pack_id, self.channel])

    @classmethod
    def from_cache(cls, code: str, data: str) -> LinkTarget:
        link_id, pack_id, channel = json.loads(data)
        return cls(link_id=int(link_id), code=code, pack_id=pack_id, channel=channel)


class LocalCache(Generic[T]):
    """A bounded in-process cache with expiry.

    When full, the oldest entry goes (one O(1) eviction per insert, never a sweep that
    stalls a request). Keep values plain tuples of numbers and strings: CPython then
    stops tracking them for garbage collection, so a full cache adds nothing to a
    collection's pause.
    """

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[float, T | None]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> tuple[bool, T | None]:
        entry = self._entries.get(key)
        if entry is None or entry[0] < time.monotonic():
            return False, None
        return True, entry[1]

    def put(self, key: str, value: T | None, ttl: float) -> None:
        if self.max_entries <= 0 or ttl <= 0:
            return
        with self._lock:
            self._entries.pop(key, None)
            while len(self._entries) >= self.max_entries:
                self._entries.popitem(last=False)
            self._entries[key] = (time.monotonic() + ttl, value)

    def discard(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def __len__(self) -> int:
        return len(self._entries)


class LinkDirectory:
    def __init__(
        self,
        db: Database,
        shared: SharedCache,
        *,
        pack_ttl: float,
        max_entries: int,
        link_ttl: float = 3600.0,
    ) -> None:
        self.db = db
        self.shared = shared
        self.pack_ttl = pack_ttl
        self.link_ttl = link_ttl
        # (link id, pack id, channel): a plain tuple, see LocalCache.
        self._links: LocalCache[tuple[int, str, str]] = LocalCache(max_entries)
        self._packs: LocalCache[PackView] = LocalCache(max(16, max_entries // 10))
        self._reader = link_reader_for(db)

    def link(self, code: str) -> LinkTarget | None:
        found, known = self._links.get(code)
        if found:
            return None if known is None else LinkTarget(known[0], code, known[1], known[2])
        key = f"referrals:link:{code}"
        try:
            cached = self.shared.get(key)
        except LinkCacheUnavailable:
            cached = None
            shared_ok = False
        else:
            shared_ok = True
        if cached is not None:
            # ("-" is what earlier versions wrote for an unknown code, for a minute.)
            target = None if cached == _UNKNOWN else LinkTarget.from_cache(code, cached)
        else:
            target = self._load_link(code)
            # Unknown codes are not written to Redis: they are mostly scanners' and typos'
            # random codes that never come again, the write was a third round trip on the
            # redirect's slowest path, and the database read it would save is one indexed
            # statement on the process's own connection.
            if shared_ok and target is not None:
                self.shared.set(key, target.to_cache(), LINK_REDIS_TTL)
        # Unknown codes are remembered briefly: a new link is announced by remember_link.
        self._remember_locally(code, target)
        return target

    def remember_link(self, target: LinkTarget) -> None:
        self.shared.set(f"referrals:link:{target.code}", target.to_cache(), LINK_REDIS_TTL)
        self._remember_locally(target.code, target)

    def _remember_locally(self, code: str, target: LinkTarget | None) -> None:
        if target is None:
            self._links.put(code, None, min(self.pack_ttl, 10.0))
        else:
            self._links.put(code, (target.link_id, target.pack_id, target.channel), self.link_ttl)

    def pack(self, pack_id: str) -> PackView | None:
        found, view = self._packs.get(pack_id)
        if found:
            return view
        key = f"referrals:pack:{pack_id}"
        try:
            cached = self.shared.get(key)
        except LinkCacheUnavailable:
            cached = None
            shared_ok = False
        else:
            shared_ok = True
        if cached is not None:
            view = None if cached == _UNKNOWN else PackView.from_cache(json.loads(cached))
        else:
            view = self._load_pack(pack_id)
            if shared_ok:
                value = json.dumps(view.to_cache()) if view else _UNKNOWN
                self.shared.set(key, value, PACK_REDIS_TTL if view else UNKNOWN_REDIS_TTL)
        self._packs.put(pack_id, view, self.pack_ttl)
        return view

    def forget_pack(self, pack_id: str) -> None:
        """Called when a pack changes: other processes see it within the local TTL."""
        self.shared.delete(f"referrals:pack:{pack_id}")
        self._packs.discard(pack_id)

    def _load_link(self, code: str) -> LinkTarget | None:
        row = self._reader.find(code)
        if row is None:
            return None
        return LinkTarget(link_id=row[0], code=code, pack_id=row[1], channel=row[2])

    def close(self) -> None:
        """Close the connection this directory keeps for its database reads, if any."""
        self._reader.close()

    def _load_pack(self, pack_id: str) -> PackView | None:
        with self.db.reading() as session:
            row = session.execute(select(packs).where(packs.c.pack_id == pack_id)).first()
        return PackView.from_row(row) if row else None

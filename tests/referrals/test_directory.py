"""The in-process cache in front of Redis: bounded, evicting one entry at a time."""

from __future__ import annotations

import gc

from services.referrals.directory import LocalCache
from tests.referrals.conftest import ReferralsHarness


def test_a_full_cache_drops_its_oldest_entry_and_keeps_the_rest() -> None:
    # given a cache of four, full
    cache: LocalCache[tuple[int, str, str]] = LocalCache(4)
    for number in range(4):
        cache.put(f"code{number}", (number, "pack-1", "X"), ttl=60)

    # when a fifth entry comes
    cache.put("code4", (4, "pack-1", "X"), ttl=60)

    # then only the oldest went
    assert len(cache) == 4
    assert cache.get("code0") == (False, None)
    assert [cache.get(f"code{n}")[1] for n in (1, 2, 3, 4)] == [
        (n, "pack-1", "X") for n in (1, 2, 3, 4)
    ]


def test_cached_links_cost_the_garbage_collector_nothing(live_pack: ReferralsHarness) -> None:
    # given the redirect's directory after many links were looked up
    directory = live_pack.components.directory
    links = [live_pack.create_link(fan_id=f"fan-{n}") for n in range(30)]
    for link in links:
        assert directory.link(link["code"]) is not None

    # when the collector has run (twice: an entry is let go once what it holds was)
    gc.collect()
    gc.collect()

    # then the cached entries are no longer tracked by it
    entries = list(directory._links._entries.values())
    assert len(entries) >= 30
    assert not any(gc.is_tracked(entry) for entry in entries)

"""Signed URLs reused for a short while, with an honest expiry."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from services.content.signed_urls import SignedUrlCache, reuse_seconds_for
from services.content.signing import UrlSigner
from services.content.storage import LocalStorage

KEY = b"signing-key-for-tests-0123456789"


class Clock:
    """Time that moves only when the test says so."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class CountingStorage(LocalStorage):
    """The real local storage, counting the URLs it signs."""

    signed: list[str]

    def signed_url(self, key: str, *, expires_in: int) -> str:
        self.signed.append(key)
        return super().signed_url(key, expires_in=expires_in)


def storage(tmp_path: Path) -> CountingStorage:
    local = CountingStorage(tmp_path, public_url="http://content.test", signer=UrlSigner(KEY))
    local.signed = []
    return local


def expiry_of(url: str) -> int:
    return int(parse_qs(urlsplit(url).query)["expires"][0])


def test_a_url_is_reused_within_the_window_and_signed_again_after_it(tmp_path: Path) -> None:
    # given a cache of one-hour URLs (reused for at most a minute)
    clock = Clock(1_000_000.0)
    local = storage(tmp_path)
    cache = SignedUrlCache(local, ttl_seconds=3600, clock=clock)

    # when a key is asked for now, 59 seconds later and 61 seconds later
    first = cache.url("packs/1/thumb.webp")
    clock.now += 59
    reused = cache.url("packs/1/thumb.webp")
    clock.now += 2
    fresh = cache.url("packs/1/thumb.webp")

    # then the second is the first URL, and the third was signed again, valid for an hour
    assert reused == first
    assert local.signed == ["packs/1/thumb.webp", "packs/1/thumb.webp"]
    assert expiry_of(fresh) >= int(time.time()) + 3600 - 1


def test_a_reused_url_still_has_most_of_its_lifetime_and_verifies(tmp_path: Path) -> None:
    # given short-lived URLs (30 s: reused for 3 s only)
    clock = Clock(time.time())
    cache = SignedUrlCache(storage(tmp_path), ttl_seconds=30, clock=clock)
    assert reuse_seconds_for(30) == 3

    # when one is handed out again just inside the reuse window
    url = cache.url("a/b.png")
    clock.now += 2.9
    again = cache.url("a/b.png")

    # then it is the same URL with at least ttl - reuse seconds left, and its signature holds
    assert again == url
    expires = expiry_of(again)
    # (the expiry is in whole seconds, hence the one second)
    assert expires - clock.now >= 30 - 3 - 1
    signature = parse_qs(urlsplit(again).query)["sig"][0]
    assert UrlSigner(KEY).verify("/media/files/a/b.png", expires, signature, now=clock.now)


def test_the_cache_forgets_the_oldest_keys_past_its_size(tmp_path: Path) -> None:
    # given a cache holding two URLs
    clock = Clock(3_000_000.0)
    local = storage(tmp_path)
    cache = SignedUrlCache(local, ttl_seconds=3600, max_entries=2, clock=clock)
    first = cache.url("k/1")
    cache.url("k/2")

    # when a third key is signed and the clock moves a second
    cache.url("k/3")
    clock.now += 1

    # then the first key is signed again, the newest is still reused
    cache.url("k/1")
    cache.url("k/3")
    assert local.signed == ["k/1", "k/2", "k/3", "k/1"]
    assert first.startswith("http://content.test/media/files/k/1?")

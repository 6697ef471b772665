"""Where a link sends people: the pack's destination, never one a fan supplied.

UTM parameters name Fanfare, the channel and the pack; the click id is added
at redirect time so the partner site can report the conversion back with it.
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign")


@lru_cache(maxsize=65536)
def destination_with_utm(destination_url: str, channel: str, pack_slug: str) -> str:
    """The pack's destination with Fanfare's UTM parameters (replacing any already there)."""
    parts = urlsplit(destination_url)
    query = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if key not in _UTM_KEYS and key != "ff_click"
    ]
    query += [
        ("utm_source", "fanfare"),
        ("utm_medium", channel.lower()),
        ("utm_campaign", pack_slug),
    ]
    return urlunsplit(parts._replace(query=urlencode(query)))


@lru_cache(maxsize=65536)
def _split_fragment(url: str) -> tuple[str, str]:
    base, hash_mark, fragment = url.partition("#")
    separator = "&" if "?" in base else "?"
    return base + separator + "ff_click=", hash_mark + fragment


def with_click_id(url: str, click_id: str) -> str:
    """``url`` with ``ff_click=<click_id>`` added before any fragment (click ids are base62)."""
    prefix, fragment = _split_fragment(url)
    return prefix + click_id + fragment

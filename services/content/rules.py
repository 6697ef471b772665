"""Input rules for packs, each with a stable error code: links, captions, hashtags, tags."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from ipaddress import ip_address
from typing import Final
from urllib.parse import urlsplit

from services.common.errors import InvalidInput

# Per network, the longest text a post may carry.
CAPTION_LIMITS: Final = {
    "X": 280,
    "FACEBOOK": 63_206,
    "LINKEDIN": 3_000,
    "INSTAGRAM": 2_200,
    "WHATSAPP": 65_536,
    "EMAIL": 10_000,
    "SMS": 1_600,
    "QR": 300,
    "COPY": 10_000,
    "OTHER": 10_000,
}
# X shortens every link to t.co, counting it as 23 characters whatever its length.
X_LINK_LENGTH: Final = 23
MAX_HASHTAGS: Final = 30
MAX_HASHTAG_LENGTH: Final = 100
MAX_TAGS: Final = 20
MAX_TAG_LENGTH: Final = 50
MAX_URL_LENGTH: Final = 2048

_HASHTAG_BODY = re.compile(r"^\w+$")
_TAG = re.compile(r"^[\w][\w\-]*$")
_UNSAFE_URL_CHARACTERS = re.compile(r"[\s\\\x00-\x1f\x7f]")


class RuleViolation(InvalidInput):
    """A field breaks one of the content rules."""

    def __init__(self, message: str, *, code: str, field: str) -> None:
        super().__init__(message, code=code, details={"field": field})


@dataclass(frozen=True)
class DestinationPolicy:
    allowed_hosts: tuple[str, ...]
    refused_hosts: tuple[str, ...]


def host_matches(host: str, pattern: str) -> bool:
    """``.example.com`` matches example.com and its subdomains; others match exactly."""
    if pattern.startswith("."):
        return host == pattern[1:] or host.endswith(pattern)
    return host == pattern


def check_destination_url(url: str, policy: DestinationPolicy) -> str:
    """An absolute http(s) URL on an allowed host, without credentials; else RuleViolation."""
    field = "destination_url"
    if len(url) > MAX_URL_LENGTH or _UNSAFE_URL_CHARACTERS.search(url):
        raise RuleViolation(
            f"The destination must be a single URL of at most {MAX_URL_LENGTH} characters "
            "without spaces, backslashes or control characters.",
            code="DESTINATION_INVALID",
            field=field,
        )
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise RuleViolation(
            "The destination must be an http:// or https:// URL.",
            code="DESTINATION_SCHEME_NOT_ALLOWED",
            field=field,
        )
    try:
        host = (parts.hostname or "").rstrip(".")
        _ = parts.port
    except ValueError as exc:
        raise RuleViolation(
            "The destination's host or port is malformed.", code="DESTINATION_INVALID", field=field
        ) from exc
    if not host:
        raise RuleViolation(
            "The destination must be an absolute URL with a host, e.g. https://shop.example.com/.",
            code="DESTINATION_INVALID",
            field=field,
        )
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise RuleViolation(
            "The destination must not carry a user name or password.",
            code="DESTINATION_CREDENTIALS",
            field=field,
        )
    if any(host_matches(host, refused) for refused in policy.refused_hosts):
        raise RuleViolation(
            "The destination cannot be one of our own short links; use the brand's page.",
            code="DESTINATION_SHORT_LINK",
            field=field,
        )
    if _is_ip_literal(host) or not any(
        host_matches(host, allowed) for allowed in policy.allowed_hosts
    ):
        raise RuleViolation(
            f"The destination host {host!r} is not one the brand allows "
            f"({', '.join(policy.allowed_hosts) or 'none configured'}).",
            code="DESTINATION_HOST_NOT_ALLOWED",
            field=field,
        )
    return url


def _is_ip_literal(host: str) -> bool:
    try:
        ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def normalise_hashtags(hashtags: Iterable[str]) -> list[str]:
    """``#Tag``, ``tag`` and ``##tag`` become ``#Tag``; repeats (any case) are dropped."""
    seen: set[str] = set()
    normalised: list[str] = []
    for raw in hashtags:
        body = unicodedata.normalize("NFKC", raw).strip().lstrip("#")
        if not _HASHTAG_BODY.match(body) or body.isdigit() or len(body) > MAX_HASHTAG_LENGTH:
            raise RuleViolation(
                f"Hashtag {raw!r} must be letters, digits or underscores (not only digits), "
                f"at most {MAX_HASHTAG_LENGTH} characters.",
                code="HASHTAG_INVALID",
                field="hashtags",
            )
        if body.casefold() not in seen:
            seen.add(body.casefold())
            normalised.append(f"#{body}")
    if len(normalised) > MAX_HASHTAGS:
        raise RuleViolation(
            f"At most {MAX_HASHTAGS} hashtags.", code="TOO_MANY_HASHTAGS", field="hashtags"
        )
    return normalised


def normalise_tags(tags: Iterable[str]) -> list[str]:
    """Tags are lower-case words joined by dashes, unique, at most MAX_TAGS of them."""
    normalised: list[str] = []
    for raw in tags:
        tag = "-".join(unicodedata.normalize("NFKC", raw).strip().lower().split())
        if not tag or len(tag) > MAX_TAG_LENGTH or not _TAG.match(tag):
            raise RuleViolation(
                f"Tag {raw!r} must be 1 to {MAX_TAG_LENGTH} letters, digits, dashes or "
                "underscores.",
                code="TAG_INVALID",
                field="tags",
            )
        if tag not in normalised:
            normalised.append(tag)
    if len(normalised) > MAX_TAGS:
        raise RuleViolation(f"At most {MAX_TAGS} tags.", code="TOO_MANY_TAGS", field="tags")
    return normalised


def x_weighted_length(text: str) -> int:
    """Length as X counts it: most Latin text weighs 1, CJK and emoji weigh 2."""
    return sum(1 if _x_light(ord(character)) else 2 for character in text)


def _x_light(code_point: int) -> bool:
    # The ranges X's twitter-text (v3) counts as one.
    return (
        code_point <= 0x10FF
        or 0x2000 <= code_point <= 0x200D
        or 0x2010 <= code_point <= 0x201F
        or 0x2032 <= code_point <= 0x2037
    )


def compose_caption(text: str, hashtags: Sequence[str], disclosure: str | None) -> str:
    """The text a fan shares: caption, hashtags, then the disclosure if sharing is rewarded."""
    parts = [text.strip(), " ".join(hashtags)]
    if disclosure:
        parts.append(disclosure)
    return " ".join(part for part in parts if part)


def check_captions(
    captions: Sequence[dict[str, str]], hashtags: Sequence[str], disclosure: str | None
) -> list[dict[str, str]]:
    """One caption per channel, each within its network's limit once composed."""
    seen: set[str] = set()
    checked: list[dict[str, str]] = []
    for caption in captions:
        channel, text = caption["channel"], caption["text"].strip()
        if channel in seen:
            raise RuleViolation(
                f"Give one caption per channel; {channel} appears twice.",
                code="DUPLICATE_CAPTION_CHANNEL",
                field="captions",
            )
        seen.add(channel)
        composed = compose_caption(text, hashtags, disclosure)
        limit = CAPTION_LIMITS[channel]
        if channel == "X":
            length = x_weighted_length(composed) + 1 + X_LINK_LENGTH
        else:
            length = len(composed)
        if length > limit:
            raise RuleViolation(
                f"The {channel} caption is {length} characters with hashtags, disclosure"
                f"{' and link' if channel == 'X' else ''}; {channel} allows {limit}.",
                code="CAPTION_TOO_LONG",
                field="captions",
            )
        checked.append({"channel": channel, "text": text})
    return checked

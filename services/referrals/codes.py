"""Short-link codes: random base62, unguessable, and the click ids put on destinations."""

from __future__ import annotations

import re
import secrets

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# 8 characters of base62 is about 47.6 bits: guessing one live code among a million
# takes over 10^8 tries on average, far beyond what rate limits and logs let pass.
CODE_LENGTH = 8
CODE_PATTERN = re.compile(r"^[0-9A-Za-z]{7,16}$")
CLICK_ID_LENGTH = 22  # ~131 bits
CLICK_ID_PATTERN = re.compile(r"^[0-9A-Za-z]{22}$")


def random_base62(length: int) -> str:
    """``length`` uniformly random base62 characters from the OS's CSPRNG.

    One uniform draw below 62**length (``secrets.randbelow`` rejects out-of-range draws,
    so there is no modulo bias) written in base 62: a few microseconds, where picking
    characters one by one from random bytes cost 30 on every redirect.
    """
    value = secrets.randbelow(62**length)
    characters = []
    for _ in range(length):
        value, digit = divmod(value, 62)
        characters.append(BASE62[digit])
    return "".join(characters)


def new_link_code() -> str:
    """A fresh random code; callers retry on the (unlikely) unique-key collision."""
    return random_base62(CODE_LENGTH)


def new_click_id() -> str:
    """The id a click carries to the destination as ``ff_click``."""
    return random_base62(CLICK_ID_LENGTH)


def is_valid_code(code: str) -> bool:
    return bool(CODE_PATTERN.match(code))


def is_valid_click_id(click_id: str) -> bool:
    return bool(CLICK_ID_PATTERN.match(click_id))

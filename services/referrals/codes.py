"""Short-link codes: random base62, unguessable, and the click ids put on destinations."""

from __future__ import annotations

import os
import re

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# 8 characters of base62 is about 47.6 bits: guessing one live code among a million
# takes over 10^8 tries on average, far beyond what rate limits and logs let pass.
CODE_LENGTH = 8
CODE_PATTERN = re.compile(r"^[0-9A-Za-z]{7,16}$")
CLICK_ID_LENGTH = 22  # ~131 bits
CLICK_ID_PATTERN = re.compile(r"^[0-9A-Za-z]{22}$")


# Random bytes below 248 (4 x 62) map evenly onto the alphabet (byte % 62); the top eight
# byte values are dropped, so no character is likelier than another.
_EVEN_BYTES = 4 * len(BASE62)
_BYTE_TO_BASE62 = bytes.maketrans(
    bytes(range(_EVEN_BYTES)), bytes(ord(BASE62[byte % 62]) for byte in range(_EVEN_BYTES))
)
_UNEVEN_BYTES = bytes(range(_EVEN_BYTES, 256))


def random_base62(length: int) -> str:
    """``length`` uniformly random base62 characters from the OS's CSPRNG.

    Each character is one random byte below 248 translated to base62 in C (bytes 248-255
    are rejected, so there is no modulo bias): about 2 microseconds for a click id, where
    a big-integer draw written out digit by digit cost 8-13 on every redirect.
    """
    drawn = b""
    while len(drawn) < length:
        # 8/256 of the bytes are rejected: a quarter more than needed almost always suffices.
        drawn += os.urandom(length + length // 4 + 4).translate(_BYTE_TO_BASE62, _UNEVEN_BYTES)
    return drawn[:length].decode("ascii")


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

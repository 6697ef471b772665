"""Email addresses: one normal form, a plausibility check, the digest services compare."""

from __future__ import annotations

import hashlib
import re

from gateway.identity.errors import InvalidInput

# Deliberately loose: the only real check of an address is mail reaching it.
_PLAUSIBLE_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
MAX_EMAIL_LENGTH = 320


def normalise_email(email: str) -> str:
    """Trimmed and lower-cased, so Ann@Example.com and ann@example.com are one account."""
    return email.strip().lower()


def check_email(email: str) -> str:
    """The normalised address, or :class:`InvalidInput` saying what is wrong with it."""
    normal = normalise_email(email)
    if len(normal) > MAX_EMAIL_LENGTH or not _PLAUSIBLE_EMAIL.match(normal):
        raise InvalidInput("Enter an email address such as ann@example.com.", field="email")
    return normal


def fan_ref(email: str) -> str:
    """SHA-256 hex of the normalised email: what referrals compares to refuse self-referrals."""
    return hashlib.sha256(normalise_email(email).encode()).hexdigest()

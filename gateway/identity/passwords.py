"""Password hashing with argon2id, and the rules a new password must meet."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from gateway.identity.errors import InvalidInput

MIN_PASSWORD_LENGTH = 8
# argon2 hashes any length, but a megabyte password is a cheap way to burn our CPU.
MAX_PASSWORD_LENGTH = 256

_hasher = PasswordHasher()
# Compared against when the email is unknown, so a wrong email costs as long as
# a wrong password and response times do not reveal who has an account.
_DUMMY_HASH = _hasher.hash("not-a-real-password-only-for-timing")


def check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"Choose a password of at least {MIN_PASSWORD_LENGTH} characters.", field="password"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(
            f"Choose a password of at most {MAX_PASSWORD_LENGTH} characters.", field="password"
        )


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; always does the work of one verification."""
    if len(password) > MAX_PASSWORD_LENGTH:
        return False
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)

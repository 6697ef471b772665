"""The identity domain's expected failures, each with a stable code."""

from __future__ import annotations


class IdentityError(Exception):
    """An expected failure: bad input, a duplicate, wrong credentials."""

    code = "INVALID"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code


class InvalidInput(IdentityError):
    code = "INVALID"


class DuplicateEmail(IdentityError):
    code = "DUPLICATE"


class InvalidCredentials(IdentityError):
    code = "INVALID_CREDENTIALS"


class NotFound(IdentityError):
    code = "NOT_FOUND"


class RateLimited(IdentityError):
    """Too many attempts; ``retry_after`` seconds until the next one is allowed."""

    code = "RATE_LIMITED"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after

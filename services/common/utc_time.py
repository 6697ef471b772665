"""One rule for time stamps on both databases: aware UTC in, aware UTC out.

PostgreSQL's ``timestamptz`` keeps the instant; SQLite keeps the text of the wall time
and drops the offset, so a time written at +05:00 read back five hours off, and naive.
:class:`UtcDateTime` makes both databases behave as PostgreSQL does.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


class NaiveDateTimeError(TypeError):
    """A naive datetime reached the database: which instant it means is a guess."""


class UtcDateTime(TypeDecorator[datetime]):
    """``DateTime(timezone=True)`` (the same DDL) that stores and returns aware UTC.

    Binding refuses a naive datetime (a programming error: attach the offset where the
    time enters the system) and converts an aware one to UTC, so every stored value on
    SQLite is UTC text and compares in SQL as the instants do. Reading returns an aware
    UTC datetime on both databases (PostgreSQL's in UTC whatever the session's TimeZone).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if type(value) is datetime and value.tzinfo is UTC:
            in_utc = value  # the common case (utcnow()), without a conversion
        elif not isinstance(value, datetime):
            raise TypeError(f"A time stamp column takes a datetime, not {type(value).__name__}.")
        elif value.tzinfo is None or value.utcoffset() is None:
            raise NaiveDateTimeError(
                f"Refusing the naive datetime {value.isoformat()}: give it an offset "
                "(e.g. datetime.now(UTC)) so the instant it means is not a guess."
            )
        else:
            in_utc = value.astimezone(UTC)
        # SQLite's DATETIME text has no offset: store the UTC wall time alone.
        return in_utc.replace(tzinfo=None) if dialect.name == "sqlite" else in_utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        tzinfo = value.tzinfo
        if tzinfo is UTC:
            return value  # type: ignore[no-any-return]
        if tzinfo is None:
            # Only UTC is ever written (see process_bind_param), so naive text is UTC.
            return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]
        return value.astimezone(UTC)  # type: ignore[no-any-return]

    def coerce_compared_value(self, op: Any, value: Any) -> TypeEngine[Any]:
        # A datetime compared with the column binds through this type (so an offset is
        # honoured and a naive value refused); anything else (an interval added to it)
        # is typed as DateTime itself would type it.
        if isinstance(value, datetime):
            return self
        return self.impl_instance.coerce_compared_value(op, value)


def utcnow() -> datetime:
    """The current time, aware, in UTC: what every time stamp the platform writes holds."""
    return datetime.now(UTC)


def utc_from_iso(text: str) -> datetime:
    """An ISO 8601 time from another service as an aware UTC datetime; ValueError if
    it is not one.

    The events catalogue's times carry their offset; one without is read as UTC (the
    only zone the platform writes), so an event from an older producer still applies.
    """
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError(f"{text!r} is outside years 1-9999 in UTC.") from exc

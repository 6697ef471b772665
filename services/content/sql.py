"""SQL that differs between PostgreSQL and SQLite, in one place."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, any_, bindparam, func, literal_column
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by
from sqlalchemy.orm import Session

from services.common.errors import InvalidInput
from services.common.storable_input import is_record_id


def id_in(session: Session, column: Any, ids: Iterable[int]) -> ColumnElement[bool]:
    """``column IN ids``; on PostgreSQL ``column = ANY(:ids)``, one array parameter.

    A page's queries filter on 50 to 300 ids: an IN list renders and binds a
    parameter per id on every call, while ANY keeps one statement text that
    psycopg can prepare once.
    """
    values = [int(value) for value in ids]
    if _is_postgresql(session):
        return column == any_(bindparam(None, values, type_=ARRAY(BigInteger())))  # type: ignore[no-any-return]
    return column.in_(values)  # type: ignore[no-any-return]


def dialect_of(session: Session) -> str:
    """ "postgresql" or "sqlite"."""
    return session.get_bind().dialect.name


def _is_postgresql(session: Session) -> bool:
    return dialect_of(session) == "postgresql"


def id_in_parameter(dialect: str, column: Any, name: str) -> ColumnElement[bool]:
    """``column IN :name`` for a statement built once and run with many id lists: on
    PostgreSQL ``= ANY(:name)`` (one array parameter), on SQLite an expanding IN."""
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=ARRAY(BigInteger())))  # type: ignore[no-any-return]
    return column.in_(bindparam(name, expanding=True))  # type: ignore[no-any-return]


# Joins values that never hold a comma (tags: letters, digits, dashes, underscores).
JOIN_SEPARATOR = ","


def joined_in_order(dialect: str, column: Any) -> ColumnElement[str | None]:
    """The aggregate of a group's ``column`` values as one comma-joined string (NULL for
    none), read back with :func:`joined_reader` in ``ORDER BY column`` order.

    PostgreSQL orders inside ``string_agg`` (with the database's collation, as an
    ORDER BY would); SQLite's ``group_concat`` takes no ORDER BY before 3.44, so
    the reader sorts there: SQLite orders text by its UTF-8 bytes, which is code
    point order, Python's.
    """
    if dialect == "postgresql":
        separator: ColumnElement[str] = literal_column(f"'{JOIN_SEPARATOR}'")
        return func.string_agg(column, aggregate_order_by(separator, column))
    return func.group_concat(column, JOIN_SEPARATOR)


def joined_reader(dialect: str) -> Callable[[str | None], list[str]]:
    """Reads a :func:`joined_in_order` aggregate back as its values, in order."""
    sort = dialect != "postgresql"

    def split(joined: str | None) -> list[str]:
        if not joined:
            return []
        values = joined.split(JOIN_SEPARATOR)
        return sorted(values) if sort else values

    return split


def encode_cursor(*parts: object) -> str:
    """An opaque cursor from the sort key of the last item on a page."""
    raw = "|".join(str(part) for part in parts).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str, count: int) -> list[str]:
    """The parts of a cursor made by :func:`encode_cursor`; 422 BAD_CURSOR if not ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise bad_cursor() from exc
    parts = raw.split("|")
    if len(parts) != count:
        raise bad_cursor()
    return parts


def cursor_id(text: str) -> int:
    """A row id from a cursor part; 422 BAD_CURSOR unless ASCII digits a BIGINT holds
    (``int`` takes "²" and SQLite refuses to bind a number past 64 bits)."""
    if not is_record_id(text):
        raise bad_cursor()
    return int(text)


def bad_cursor() -> InvalidInput:
    return InvalidInput(
        "The 'after' cursor is not one this list handed out; start again without it.",
        code="BAD_CURSOR",
        details={"field": "after"},
    )

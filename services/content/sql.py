"""SQL that differs between PostgreSQL and SQLite, in one place."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from services.common.errors import InvalidInput


def id_in(session: Session, column: Any, ids: Iterable[int]) -> ColumnElement[bool]:
    """``column IN ids``; on PostgreSQL ``column = ANY(:ids)``, one array parameter.

    A page's queries filter on 50 to 300 ids: an IN list renders and binds a
    parameter per id on every call, while ANY keeps one statement text that
    psycopg can prepare once.
    """
    values = [int(value) for value in ids]
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(BigInteger())))  # type: ignore[no-any-return]
    return column.in_(values)  # type: ignore[no-any-return]


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


def bad_cursor() -> InvalidInput:
    return InvalidInput(
        "The 'after' cursor is not one this list handed out; start again without it.",
        code="BAD_CURSOR",
        details={"field": "after"},
    )

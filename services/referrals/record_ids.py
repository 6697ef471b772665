"""Ids sent as text (in a query string) that can name a row: ASCII digits within BIGINT.

``str.isdigit`` alone also passes superscripts ("²", which ``int`` refuses) and numbers
past 64 bits (which SQLite refuses to bind): either reached the database as a 500.
Such an id names no row, so it is simply not found, like any other unknown id.
"""

from __future__ import annotations

from collections.abc import Iterable

from services.common.storable_input import MAX_ID


def is_record_id(text: str) -> bool:
    return text.isascii() and text.isdigit() and int(text) <= MAX_ID


def record_ids(texts: Iterable[str]) -> list[int]:
    """The ids among ``texts`` that can name a row, as integers; the rest dropped."""
    return [int(text) for text in texts if is_record_id(text)]

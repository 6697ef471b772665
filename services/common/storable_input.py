"""Refuse, before any view runs, input no database column can hold.

- Text with a NUL character (U+0000): PostgreSQL text cannot contain one, and JSON
  can carry it (``"\\u0000"``), as can a query string (``%00``).
- Text with an unpaired surrogate (JSON's ``"\\ud800"``): it is not Unicode, so
  neither the database driver nor the JSON encoder can write it.
- An id in the path past a 64-bit integer: no row has one (ids are BIGINT), and the
  database refuses to compare against it.

Each reached the database and came back as a 500. Now the text is a 422
``INVALID_CHARACTERS`` naming where it is, and the id a 404 like any unknown id.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import Flask, request
from werkzeug.routing import IntegerConverter, Map

from services.common.errors import InvalidInput

MAX_ID = 2**63 - 1


def is_record_id(text: str) -> bool:
    """Whether ``text`` (an id sent as text) can name a row: ASCII digits a BIGINT holds.

    ``str.isdigit`` alone also passes "²" (which ``int`` refuses) and numbers past 64
    bits (which SQLite refuses to bind): either reached the database as a 500.
    """
    return text.isascii() and text.isdigit() and int(text) <= MAX_ID


def record_ids(texts: Iterable[str]) -> list[int]:
    """The ids among ``texts`` that can name a row, as integers; the rest name none."""
    return [int(text) for text in texts if is_record_id(text)]


class DatabaseIdConverter(IntegerConverter):
    """``<int:...>`` that matches only ids a BIGINT column can hold."""

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def is_storable(text: str) -> bool:
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def unstorable_field(value: Any, path: str) -> str | None:
    """The path of the first string in ``value`` (a JSON value) that cannot be stored."""
    if isinstance(value, str):
        return None if is_storable(value) else path
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else str(key)
            if not is_storable(str(key)):
                return inner
            found = unstorable_field(item, inner)
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = unstorable_field(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def _refuse(location: str, field: str) -> InvalidInput:
    return InvalidInput(
        f"The {location} field '{field}' contains a NUL character (\\u0000) or an unpaired "
        "surrogate, which no text can hold; remove it.",
        code="INVALID_CHARACTERS",
        details={"location": location, "field": field},
    )


def refuse_unstorable_input(app: Flask) -> None:
    """Install the id converter and the text check; call before registering blueprints."""
    app.url_map.converters["int"] = DatabaseIdConverter

    @app.before_request
    def _refuse_unstorable_text() -> None:
        for name, value in (request.view_args or {}).items():
            if isinstance(value, str) and not is_storable(value):
                raise _refuse("path", name)
        for name, values in request.args.lists():
            found = unstorable_field({name: values}, "")
            if found is not None:
                raise _refuse("query", name)
        if request.is_json:
            # Parsed once: the view's own get_json returns this cached value.
            found = unstorable_field(request.get_json(silent=True), "")
            if found is not None:
                raise _refuse("body", found)

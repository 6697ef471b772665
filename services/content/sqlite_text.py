"""SQLite's lower() folds ASCII letters only; PostgreSQL's folds every letter.

The pack search compares ``lower(title)`` with the lower-cased term, so on SQLite
"crème" did not find "CRÈME" while PostgreSQL did. Each SQLite connection of the
content app gets a ``lower`` that folds as Python's ``str.lower`` (no index of the
content database is built on ``lower``, so none goes stale), and both databases
answer the same search the same way.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine


def _unicode_lower(text: Any) -> Any:
    return text.lower() if isinstance(text, str) else text


def _install_unicode_lower(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)


def fold_case_like_postgresql(engine: Engine) -> None:
    """Give every SQLite connection of ``engine`` a Unicode ``lower``; others unchanged."""
    if engine.dialect.name != "sqlite":
        return
    event.listen(engine, "connect", _install_unicode_lower)
    # A connection the pool opened before the listener existed would lack it.
    engine.dispose()

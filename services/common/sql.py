"""Statements that differ between PostgreSQL and SQLite, for every service."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def dialect_insert(session: Session, table: Table) -> Any:
    """An INSERT that offers ``on_conflict_do_nothing`` / ``on_conflict_do_update``."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"no conflict-aware insert for {dialect}")


def insert_ignoring_conflicts(session: Session, table: Table) -> Any:
    """``INSERT ... ON CONFLICT DO NOTHING``; add ``.returning(...)`` to learn if a row went in.

    RETURNING rather than rowcount: psycopg reports -1 for ON CONFLICT DO NOTHING.
    """
    return dialect_insert(session, table).on_conflict_do_nothing()

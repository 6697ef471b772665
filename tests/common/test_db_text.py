"""Text compares the same on both databases: lower() folds every letter, not only ASCII."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, literal, select

from services.common.db import Database


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


@pytest.mark.parametrize(
    ("text", "folded"),
    [("CRÈME Brûlée", "crème brûlée"), ("ÅNGSTRÖM", "ångström"), ("ΣΟΦΙΑ", "σοφια")],
)
def test_lower_folds_every_letter_on_both_databases(db: Database, text: str, folded: str) -> None:
    with db.reading() as session:
        assert session.scalar(select(func.lower(literal(text)))) == folded


def test_lower_of_null_is_null(db: Database) -> None:
    with db.reading() as session:
        assert session.scalar(select(func.lower(literal(None)))) is None

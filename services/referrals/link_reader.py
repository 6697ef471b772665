"""The redirect's last resort for a code: one indexed read from the database.

It runs for every code neither this process nor Redis knows, which in practice is
mostly unknown codes (typos, scanners guessing). Through the shared pool that read
cost three round trips (the pool's liveness ping, the statement, the reset) and
about 0.7 ms of Python; on PostgreSQL the process keeps one autocommit connection of
its own for it instead: one round trip, prepared after a few uses, about 0.15 ms.
SQLite has no round trips to save and keeps the pooled path.
"""

from __future__ import annotations

import os
import threading
import weakref
from typing import Any, Protocol

import psycopg
from sqlalchemy import select
from sqlalchemy.engine import make_url

from services.common.db import READ_ONLY_OPTION, Database, is_sqlite
from services.referrals.models import referral_links

# (link id, pack id, channel)
LinkRow = tuple[int, str, str]

_LINK_BY_CODE = "SELECT id, pack_id, channel FROM referral_links WHERE code = %s"


class LinkReader(Protocol):
    def find(self, code: str) -> LinkRow | None: ...

    def close(self) -> None: ...


class PooledLinkReader:
    """Reads through the app's engine (SQLite, or anything not PostgreSQL)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def find(self, code: str) -> LinkRow | None:
        # Read-only: on SQLite a snapshot, so a redirect never queues behind a writer.
        connection = self.db.engine.connect().execution_options(
            isolation_level="AUTOCOMMIT", **{READ_ONLY_OPTION: True}
        )
        with connection as conn:
            row = conn.execute(
                select(
                    referral_links.c.id, referral_links.c.pack_id, referral_links.c.channel
                ).where(referral_links.c.code == code)
            ).first()
        return None if row is None else (int(row.id), str(row.pack_id), str(row.channel))

    def close(self) -> None:
        """Nothing of its own to close: the engine belongs to the app."""


class _Held:
    """The connection and the process that opened it (a forked child must not use it)."""

    def __init__(self) -> None:
        self.connection: psycopg.Connection[Any] | None = None
        self.pid = 0

    def close(self) -> None:
        connection, self.connection = self.connection, None
        # Closing a connection inherited through fork would end the parent's session.
        if connection is not None and self.pid == os.getpid():
            connection.close()


class DedicatedLinkReader:
    """PostgreSQL: one autocommit connection of this process's own, opened on first use.

    A connection found broken (the server restarted, an idle timeout) is replaced and
    the read tried once more; a database that is down raises ``psycopg.OperationalError``
    as the pooled path raised SQLAlchemy's.
    """

    def __init__(self, url: str, *, connect_timeout: float) -> None:
        parsed = make_url(url)
        self._conninfo = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
        self._connect_timeout = int(max(1, connect_timeout))
        self._lock = threading.Lock()
        self._held = _Held()
        # Closed when the reader is dropped or the interpreter exits, never left to GC.
        self._finalizer = weakref.finalize(self, self._held.close)

    def find(self, code: str) -> LinkRow | None:
        with self._lock:
            try:
                return self._read(code)
            except psycopg.OperationalError:
                self._held.close()
                return self._read(code)

    def close(self) -> None:
        with self._lock:
            self._held.close()

    def _read(self, code: str) -> LinkRow | None:
        held = self._held
        if held.connection is None or held.pid != os.getpid() or held.connection.closed:
            held.connection = psycopg.connect(
                self._conninfo, autocommit=True, connect_timeout=self._connect_timeout
            )
            held.pid = os.getpid()
        row = held.connection.execute(_LINK_BY_CODE, (code,)).fetchone()
        return None if row is None else (int(row[0]), str(row[1]), str(row[2]))


def link_reader_for(db: Database, *, connect_timeout: float = 5.0) -> LinkReader:
    if is_sqlite(db.url) or db.dialect != "postgresql":
        return PooledLinkReader(db)
    return DedicatedLinkReader(db.url, connect_timeout=connect_timeout)

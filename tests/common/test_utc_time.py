"""Time stamps mean the same instant on both databases (services/common/utc_time.py)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import StatementError
from sqlalchemy.schema import CreateTable
from sqlalchemy.types import TypeEngine

from fanfare.apps import APPS, AppSpec
from services.common.db import Database, new_metadata
from services.common.utc_time import NaiveDateTimeError, UtcDateTime, utc_from_iso

PLUS_FIVE = timezone(timedelta(hours=5))
MINUS_EIGHT = timezone(timedelta(hours=-8))
PLUS_FIVE_THIRTY = timezone(timedelta(hours=5, minutes=30))

metadata = new_metadata()
moments = Table(
    "moments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("label", String(20), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("until", UtcDateTime),
)


def database_with_moments(url: str) -> Iterator[Database]:
    database = Database(url)
    metadata.create_all(database.engine)
    yield database
    database.dispose()


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    yield from database_with_moments(database_url)


@pytest.fixture
def postgres_db(postgres_url: str) -> Iterator[Database]:
    """PostgreSQL alone: for what SQLite cannot do in SQL (intervals, session time zones)."""
    yield from database_with_moments(postgres_url)


def write(db: Database, *rows: tuple[str, datetime]) -> None:
    with db.transaction() as session:
        session.execute(insert(moments), [{"label": label, "at": at} for label, at in rows])


def test_a_time_written_at_plus_five_reads_back_as_the_same_instant_in_utc(db: Database) -> None:
    # given a time written with a +05:00 offset
    written = datetime(2026, 11, 22, 19, 30, 15, 145010, tzinfo=PLUS_FIVE)
    write(db, ("evening", written))

    # when it is read back
    with db.reading() as session:
        read = session.scalar(select(moments.c.at))

    # then it is the same instant, aware and in UTC (not 19:30 naive, five hours late)
    assert read == written
    assert read is not None
    assert read.tzinfo is UTC
    assert read.isoformat() == "2026-11-22T14:30:15.145010+00:00"


def test_a_missing_time_reads_back_as_none(db: Database) -> None:
    # given a row without its optional time
    write(db, ("open", datetime(2026, 1, 1, tzinfo=UTC)))

    # when it is read back, then the time is None
    with db.reading() as session:
        assert session.scalar(select(moments.c.until)) is None


def test_a_naive_time_is_refused_at_bind_and_nothing_is_written(db: Database) -> None:
    # given a naive datetime (which instant it means is a guess)
    naive = datetime(2026, 11, 22, 19, 30)

    # when it is written, then the statement is refused before it reaches the database
    with pytest.raises(StatementError) as refused:
        write(db, ("naive", naive))
    assert isinstance(refused.value.orig, NaiveDateTimeError)
    assert "give it an offset" in str(refused.value.orig)

    # and nothing was written
    with db.reading() as session:
        assert session.scalar(select(func.count()).select_from(moments)) == 0


def test_a_naive_time_is_refused_in_a_comparison_too(db: Database) -> None:
    # given a stored time
    write(db, ("utc", datetime(2026, 1, 1, tzinfo=UTC)))

    # when a query compares the column with a naive datetime, then it is refused
    with db.reading() as session, pytest.raises(StatementError) as refused:
        session.execute(select(moments.c.id).where(moments.c.at < datetime(2026, 1, 2)))
    assert isinstance(refused.value.orig, NaiveDateTimeError)


def test_a_value_that_is_not_a_datetime_is_refused(db: Database) -> None:
    # when a text is bound to a time stamp column, then it is refused on both databases
    with pytest.raises(StatementError) as refused:
        write(db, ("text", "2026-01-01T00:00:00Z"))  # type: ignore[arg-type]
    assert isinstance(refused.value.orig, TypeError)


def written_at_different_offsets(db: Database) -> None:
    write(
        db,
        ("a", datetime(2026, 11, 22, 10, 0, tzinfo=PLUS_FIVE)),  # 05:00Z
        ("b", datetime(2026, 11, 22, 6, 0, tzinfo=UTC)),  # 06:00Z
        ("c", datetime(2026, 11, 22, 1, 30, tzinfo=timezone(timedelta(hours=-3)))),  # 04:30Z
        ("d", datetime(2026, 11, 21, 23, 0, tzinfo=MINUS_EIGHT)),  # 07:00Z
    )


def test_sql_comparisons_follow_the_instants_not_the_wall_times(db: Database) -> None:
    # given times written with four different offsets
    written_at_different_offsets(db)

    # when rows before 05:30Z are asked for, with the moment itself at +05:30
    moment = datetime(2026, 11, 22, 11, 0, tzinfo=PLUS_FIVE_THIRTY)
    with db.reading() as session:
        before = session.scalars(
            select(moments.c.label).where(moments.c.at < moment).order_by(moments.c.at)
        ).all()
        in_order = session.scalars(select(moments.c.label).order_by(moments.c.at)).all()

    # then the same rows come back on both databases, in the order of the instants
    assert before == ["c", "a"]
    assert in_order == ["c", "a", "b", "d"]


def test_a_typed_parameter_in_text_sql_compares_as_the_column_does(db: Database) -> None:
    # given times written with four different offsets
    written_at_different_offsets(db)

    # when hand-written SQL binds the moment through the same type
    statement = text("SELECT label FROM moments WHERE at >= :moment ORDER BY label").bindparams(
        bindparam("moment", type_=UtcDateTime)
    )
    with db.reading() as session:
        labels = session.scalars(
            statement, {"moment": datetime(2026, 11, 21, 22, 0, tzinfo=MINUS_EIGHT)}
        ).all()

    # then it finds the rows at or after 06:00Z
    assert labels == ["b", "d"]


def test_the_latest_time_of_an_aggregate_is_aware_utc(db: Database) -> None:
    # given times written with four different offsets
    written_at_different_offsets(db)

    # when the latest is asked for in SQL
    with db.reading() as session:
        latest = session.scalar(select(func.max(moments.c.at)))

    # then it is the latest instant, in UTC
    assert latest == datetime(2026, 11, 22, 7, 0, tzinfo=UTC)
    assert latest is not None
    assert latest.tzinfo is UTC


def test_an_interval_added_to_the_column_binds_as_an_interval(postgres_db: Database) -> None:
    # given a stored time on PostgreSQL (SQLite does no date arithmetic in SQL)
    write(postgres_db, ("evening", datetime(2026, 11, 22, 19, 30, tzinfo=PLUS_FIVE)))

    # when a query adds a day to it (the day must bind as an interval, not a time)
    with postgres_db.reading() as session:
        next_day = session.scalar(select(moments.c.at + timedelta(days=1)))

    # then the sum is the next day's instant, in UTC
    assert next_day == datetime(2026, 11, 23, 14, 30, tzinfo=UTC)
    assert next_day is not None
    assert next_day.tzinfo is UTC


def test_postgresql_answers_in_utc_whatever_the_session_time_zone(postgres_db: Database) -> None:
    # given a PostgreSQL session whose TimeZone is not UTC
    write(postgres_db, ("evening", datetime(2026, 11, 22, 19, 30, tzinfo=PLUS_FIVE)))

    # when the time is read in it
    with postgres_db.transaction() as session:
        session.execute(text("SET LOCAL TIME ZONE 'Asia/Tokyo'"))
        read = session.scalar(select(moments.c.at))

    # then it comes back in UTC, not Tokyo time
    assert read is not None
    assert read.tzinfo is UTC
    assert read == datetime(2026, 11, 22, 14, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    "dialect", [sqlite.dialect, postgresql.dialect], ids=["sqlite", "postgresql"]
)
def test_the_type_makes_the_same_ddl_as_datetime_with_time_zone(
    dialect: Callable[[], Dialect],
) -> None:
    # given the same table with a DateTime(timezone=True) column and with the type
    def ddl(column_type: TypeEngine[datetime]) -> str:
        table = Table("t", MetaData(), Column("at", column_type, nullable=False))
        return str(CreateTable(table).compile(dialect=dialect()))

    # then their DDL is the same (no migration is needed to adopt it)
    assert ddl(UtcDateTime()) == ddl(DateTime(timezone=True))


@pytest.mark.parametrize(
    ("text", "instant"),
    [
        ("2026-11-22T19:30:15+05:00", datetime(2026, 11, 22, 14, 30, 15, tzinfo=UTC)),
        ("2026-11-22T06:30:15-08:00", datetime(2026, 11, 22, 14, 30, 15, tzinfo=UTC)),
        ("2026-11-22T14:30:15Z", datetime(2026, 11, 22, 14, 30, 15, tzinfo=UTC)),
        ("2026-11-22T14:30:15", datetime(2026, 11, 22, 14, 30, 15, tzinfo=UTC)),
    ],
    ids=["plus-five", "minus-eight", "zulu", "no-offset-is-utc"],
)
def test_an_event_time_is_read_as_its_instant_in_utc(text: str, instant: datetime) -> None:
    # when another service's ISO 8601 time is read
    moment = utc_from_iso(text)

    # then it is that instant, aware and in UTC (one without an offset is taken as UTC)
    assert moment == instant
    assert moment.tzinfo is UTC


@pytest.mark.parametrize("text", ["yesterday", "0001-01-01T00:00:00+05:00"])
def test_an_event_time_that_names_no_storable_instant_is_a_value_error(text: str) -> None:
    # when the text is no ISO 8601 time, or its instant is before year 1 in UTC
    # then reading it fails with a ValueError (the callers' "malformed" signal)
    with pytest.raises(ValueError, match=r"."):
        utc_from_iso(text)


@pytest.mark.parametrize("spec", APPS, ids=lambda spec: spec.name)
def test_every_time_stamp_column_of_an_app_is_utc_date_time(spec: AppSpec) -> None:
    # given the tables of an app's models
    app_metadata: MetaData = importlib.import_module(f"{spec.package}.models").metadata

    # when their time stamp columns are listed
    plain = [
        f"{table.name}.{column.name}"
        for table in app_metadata.tables.values()
        for column in table.columns
        if isinstance(column.type, DateTime)
    ]

    # then none is a plain DateTime (whose SQLite reads are naive and lose the offset)
    assert plain == []

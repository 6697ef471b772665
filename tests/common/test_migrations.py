"""Every app's migration history runs up from an empty database, on SQLite and PostgreSQL."""

from __future__ import annotations

import importlib
from datetime import date
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, inspect

from fanfare.apps import APPS, AppSpec
from services.common import migrations
from services.common.db import Database, create_db_engine
from services.referrals.partitions import ensure_partitions

EVENT_TABLES = {"outbox_events", "processed_events", "dead_letters"}


def app_metadata(spec: AppSpec) -> MetaData:
    metadata: MetaData = importlib.import_module(f"{spec.package}.models").metadata
    return metadata


def schema_drift(spec: AppSpec, database_url: str) -> tuple[list[Any], set[str]]:
    """What differs between the migrated database and the app's models, and its tables."""
    engine = create_db_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={"compare_type": True, "include_name": migrations.is_migrated_object},
            )
            return (
                compare_metadata(context, app_metadata(spec)),
                set(inspect(connection).get_table_names()),
            )
    finally:
        engine.dispose()


@pytest.mark.parametrize("spec", APPS, ids=lambda spec: spec.name)
def test_migrations_run_up_from_empty_and_match_the_models(
    spec: AppSpec, database_url: str
) -> None:
    # given an empty database
    # when the app's history is applied to its head
    migrations.upgrade(spec.migrations_dir, database_url)

    # then the schema is exactly what the models describe
    differences, tables = schema_drift(spec, database_url)
    assert differences == []
    assert "alembic_version" in tables
    if spec.has_worker:
        assert tables >= EVENT_TABLES


@pytest.mark.parametrize("spec", APPS, ids=lambda spec: spec.name)
def test_migrations_go_down_to_empty_and_up_again(spec: AppSpec, database_url: str) -> None:
    # given a database at head
    migrations.upgrade(spec.migrations_dir, database_url)

    # when it goes back to before the first revision, and up again
    migrations.downgrade(spec.migrations_dir, database_url, "base")
    engine = create_db_engine(database_url)
    try:
        with engine.connect() as connection:
            left_over = set(inspect(connection).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()
    migrations.upgrade(spec.migrations_dir, database_url)

    # then nothing of the app was left at the bottom
    assert left_over == set()


def test_run_time_partitions_are_not_schema_drift(postgres_url: str) -> None:
    # given referrals at head on PostgreSQL, with click partitions made the way the service does
    spec = next(spec for spec in APPS if spec.name == "referrals")
    migrations.upgrade(spec.migrations_dir, postgres_url)
    database = Database(postgres_url)
    try:
        made = ensure_partitions(database, [date(2026, 11, 21), date(2026, 11, 22)])
    finally:
        database.engine.dispose()
    assert len(made) == 2

    # when the migrated schema is compared with the models
    differences, tables = schema_drift(spec, postgres_url)

    # then the partitions exist but are not reported as tables the models lack
    assert {"clicks_p20261121", "clicks_p20261122"} <= tables
    assert differences == []

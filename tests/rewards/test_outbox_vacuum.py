"""The outbox is vacuumed after a fixed number of changed rows (migration rewards_0006)."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from fanfare.apps import get_app_spec
from services.common import migrations
from tests.rewards.conftest import migrate

VACUUM_SETTINGS = [
    "autovacuum_vacuum_scale_factor=0",
    "autovacuum_vacuum_threshold=1000",
    "autovacuum_analyze_scale_factor=0",
    "autovacuum_analyze_threshold=1000",
]


def outbox_options(database_url: str) -> list[str]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            options = connection.scalar(
                text("SELECT reloptions FROM pg_class WHERE relname = 'outbox_events'")
            )
    finally:
        engine.dispose()
    return sorted(options or [])


def test_the_outbox_is_vacuumed_and_analyzed_every_thousand_changed_rows(
    postgres_url: str,
) -> None:
    # given a rewards database migrated to the head
    migrate(postgres_url)

    # then its outbox table carries fixed vacuum and analyze thresholds
    assert outbox_options(postgres_url) == sorted(VACUUM_SETTINGS)

    # and going back one revision restores PostgreSQL's defaults
    migrations.downgrade(get_app_spec("rewards").migrations_dir, postgres_url, "rewards_0005")
    assert outbox_options(postgres_url) == []


def test_the_vacuum_migration_leaves_sqlite_as_it_was(database_url: str) -> None:
    # given a database of either kind, when it is migrated to the head and back one revision
    migrate(database_url)
    migrations.downgrade(get_app_spec("rewards").migrations_dir, database_url, "rewards_0005")

    # then migrating again works (SQLite has no storage parameters to set)
    migrate(database_url)

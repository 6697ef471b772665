"""Every service's outbox is vacuumed after a fixed number of changed rows, on PostgreSQL.

See ``services.common.migration_ops.tune_outbox_autovacuum_v1`` for why; SQLite
has no such settings, and the migration tests run these revisions there too.
"""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from fanfare.apps import get_app_spec
from services.common import migrations
from services.common.migration_ops import OUTBOX_AUTOVACUUM_V1

# Each service with an outbox, and its revision before the tuning.
BEFORE_TUNING = {
    "content": "content_0003",
    "referrals": "referrals_0004",
    "rewards": "rewards_0005",
}


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


@pytest.mark.parametrize("service", sorted(BEFORE_TUNING))
def test_the_outbox_is_vacuumed_and_analyzed_every_thousand_changed_rows(
    service: str, postgres_url: str
) -> None:
    # given the service's database migrated to its head
    migrations_dir = get_app_spec(service).migrations_dir
    migrations.upgrade(migrations_dir, postgres_url)

    # then its outbox table carries fixed vacuum and analyze thresholds
    expected = sorted(f"{name}={value}" for name, value in OUTBOX_AUTOVACUUM_V1.items())
    assert outbox_options(postgres_url) == expected

    # and going back before the tuning restores PostgreSQL's defaults
    migrations.downgrade(migrations_dir, postgres_url, BEFORE_TUNING[service])
    assert outbox_options(postgres_url) == []

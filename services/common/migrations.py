"""Alembic, one migration history per service, run without an alembic.ini."""

from __future__ import annotations

import re
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData

from services.common.db import create_db_engine, is_sqlite

# Daily partitions (e.g. referrals' clicks_p20261122) are made at run time, not by migrations.
_RUNTIME_PARTITION = re.compile(r".+_p\d{8}")


def is_migrated_object(name: str | None, type_: str, _parent_names: object) -> bool:
    """Alembic's ``include_name``: leave run-time partitions out of schema comparisons."""
    return not (type_ == "table" and name is not None and _RUNTIME_PARTITION.fullmatch(name))


def alembic_config(migrations_dir: Path, database_url: str) -> Config:
    """An Alembic config for one service's history and database."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    # ConfigParser interpolates '%'; URLs may carry escaped characters.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(migrations_dir: Path, database_url: str, revision: str = "head") -> None:
    if is_sqlite(database_url):
        db_path = database_url.split("///", 1)[-1]
        if db_path and db_path != ":memory:":
            Path(db_path).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(migrations_dir, database_url), revision)


def downgrade(migrations_dir: Path, database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(migrations_dir, database_url), revision)


def run_migrations(target_metadata: MetaData) -> None:
    """The body of every service's ``env.py`` (online mode only)."""
    url = context.config.get_main_option("sqlalchemy.url")
    assert url is not None
    engine = create_db_engine(url)
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                render_as_batch=is_sqlite(url),
                compare_type=True,
                include_name=is_migrated_object,
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()

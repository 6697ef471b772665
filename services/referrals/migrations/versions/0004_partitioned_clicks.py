"""Raw clicks keyed by (click_id, occurred_at); on PostgreSQL range-partitioned by day.

The old table is renamed, the new one created (on PostgreSQL with ``PARTITION BY
RANGE (occurred_at)`` and one partition per UTC day that holds rows), the rows
copied, the old table dropped. Later partitions are made by the service
(``services/referrals/partitions.py``). On SQLite the table stays plain.

Revision ID: referrals_0004
Revises: referrals_0003
Create Date: 2026-11-22
"""

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from alembic import op

revision: str = "referrals_0004"
down_revision: str | None = "referrals_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD = "clicks_before_0004"
_COLUMNS = "click_id, link_id, pack_id, kind, visitor_hash, ip_hash, unique_visit, occurred_at"
_INDEXES = (
    ("ix_clicks_link_id_occurred_at", ["link_id", "occurred_at"]),
    ("ix_clicks_occurred_at", ["occurred_at"]),
    ("ix_clicks_visitor_hash_occurred_at", ["visitor_hash", "occurred_at"]),
)


def _click_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("click_id", sa.String(length=32), nullable=False),
        sa.Column("link_id", sa.BigInteger(), nullable=False),
        sa.Column("pack_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("visitor_hash", sa.String(length=64), nullable=True),
        sa.Column("ip_hash", sa.String(length=64), nullable=True),
        sa.Column("unique_visit", sa.Boolean(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
    ]


def _link_fk() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["link_id"], ["referral_links.id"], name="fk_clicks_link_id_referral_links"
    )


def _set_aside_old_table() -> None:
    """Rename the old table and free its index and constraint names for the new one."""
    for name, _columns in _INDEXES:
        op.drop_index(name, table_name="clicks")
    op.rename_table("clicks", _OLD)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE {_OLD} RENAME CONSTRAINT pk_clicks TO pk_{_OLD}")
        op.execute(f"ALTER TABLE {_OLD} DROP CONSTRAINT IF EXISTS uq_clicks_click_id")
        op.execute(f"ALTER TABLE {_OLD} DROP CONSTRAINT IF EXISTS fk_clicks_link_id_referral_links")


def _create_indexes() -> None:
    for name, columns in _INDEXES:
        op.create_index(name, "clicks", columns, unique=False)


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    _set_aside_old_table()
    op.create_table(
        "clicks",
        *_click_columns(),
        _link_fk(),
        sa.PrimaryKeyConstraint("click_id", "occurred_at", name="pk_clicks"),
        postgresql_partition_by="RANGE (occurred_at)",
    )
    _create_indexes()
    if postgresql:
        days = op.get_bind().execute(
            sa.text(
                f"SELECT DISTINCT CAST(occurred_at AT TIME ZONE 'UTC' AS date) FROM {_OLD}"  # noqa: S608 - a constant name
            )
        )
        for (day,) in days:
            start, end = _day_start(day), _day_start(day + timedelta(days=1))
            op.execute(
                f"CREATE TABLE clicks_p{day:%Y%m%d} PARTITION OF clicks "
                f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
            )
    op.execute(f"INSERT INTO clicks ({_COLUMNS}) SELECT {_COLUMNS} FROM {_OLD}")  # noqa: S608
    op.drop_table(_OLD)


def downgrade() -> None:
    for name, _columns in _INDEXES:
        op.drop_index(name, table_name="clicks")
    op.rename_table("clicks", _OLD)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE {_OLD} RENAME CONSTRAINT pk_clicks TO pk_{_OLD}")
        op.execute(f"ALTER TABLE {_OLD} DROP CONSTRAINT IF EXISTS fk_clicks_link_id_referral_links")
    op.create_table(
        "clicks",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        *_click_columns(),
        _link_fk(),
        sa.PrimaryKeyConstraint("id", name="pk_clicks"),
        sa.UniqueConstraint("click_id", name="uq_clicks_click_id"),
    )
    _create_indexes()
    op.execute(
        f"INSERT INTO clicks ({_COLUMNS}) SELECT {_COLUMNS} FROM {_OLD} ORDER BY occurred_at"  # noqa: S608
    )
    # Dropping the partitioned table drops its partitions.
    op.drop_table(_OLD)

"""An index of processed_events by processed_at: the retention purge deletes the oldest first.

Why: :func:`services.common.migration_ops.create_processed_events_processed_at_index_v1`
(built CONCURRENTLY on PostgreSQL, so consumers keep writing meanwhile).

Revision ID: rewards_0008
Revises: rewards_0007
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from services.common.migration_ops import (
    create_processed_events_processed_at_index_v1,
    drop_processed_events_processed_at_index_v1,
)

revision: str = "rewards_0008"
down_revision: str | None = "rewards_0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_processed_events_processed_at_index_v1()


def downgrade() -> None:
    drop_processed_events_processed_at_index_v1()

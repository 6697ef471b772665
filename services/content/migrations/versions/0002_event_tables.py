"""Outbox, processed-event and dead-letter tables.

Revision ID: content_0002
Revises: content_0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from services.common.migration_ops import create_event_tables_v1, drop_event_tables_v1

revision: str = "content_0002"
down_revision: str | None = "content_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_event_tables_v1()


def downgrade() -> None:
    drop_event_tables_v1()

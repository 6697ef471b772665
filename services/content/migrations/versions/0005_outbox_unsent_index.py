"""An index of the outbox's unsent events, in order: the relay's query reads it alone.

Why: :func:`services.common.migration_ops.create_outbox_unsent_index_v1` (as rewards_0007).

Revision ID: content_0005
Revises: content_0004
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from services.common.migration_ops import (
    create_outbox_unsent_index_v1,
    drop_outbox_unsent_index_v1,
)

revision: str = "content_0005"
down_revision: str | None = "content_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_outbox_unsent_index_v1()


def downgrade() -> None:
    drop_outbox_unsent_index_v1()

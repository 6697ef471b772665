"""An index of the outbox's unsent events, in order: the relay's query reads it alone.

Why: :func:`services.common.migration_ops.create_outbox_unsent_index_v1` (as rewards_0007).

Revision ID: referrals_0006
Revises: referrals_0005
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from services.common.migration_ops import (
    create_outbox_unsent_index_v1,
    drop_outbox_unsent_index_v1,
)

revision: str = "referrals_0006"
down_revision: str | None = "referrals_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_outbox_unsent_index_v1()


def downgrade() -> None:
    drop_outbox_unsent_index_v1()

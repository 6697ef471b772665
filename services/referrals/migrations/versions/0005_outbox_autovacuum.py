"""Vacuum and analyze the outbox after every 1,000 changed rows, not after 20% of it.

Why: :func:`services.common.migration_ops.tune_outbox_autovacuum_v1` (as rewards_0006).

Revision ID: referrals_0005
Revises: referrals_0004
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from services.common.migration_ops import reset_outbox_autovacuum_v1, tune_outbox_autovacuum_v1

revision: str = "referrals_0005"
down_revision: str | None = "referrals_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    tune_outbox_autovacuum_v1()


def downgrade() -> None:
    reset_outbox_autovacuum_v1()

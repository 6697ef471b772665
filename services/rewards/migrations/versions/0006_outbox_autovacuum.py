"""Vacuum and analyze the outbox after every 1,000 changed rows, not after 20% of it.

Why: :func:`services.common.migration_ops.tune_outbox_autovacuum_v1`. Found
here first: after a burst of 110,000 events the relay's query for unsent ones
walked every dead version on each pass, 56% of a core in the benchmark.

Revision ID: rewards_0006
Revises: rewards_0005
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from services.common.migration_ops import reset_outbox_autovacuum_v1, tune_outbox_autovacuum_v1

revision: str = "rewards_0006"
down_revision: str | None = "rewards_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    tune_outbox_autovacuum_v1()


def downgrade() -> None:
    reset_outbox_autovacuum_v1()

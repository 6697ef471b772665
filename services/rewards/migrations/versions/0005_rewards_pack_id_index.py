"""An index on the pack of each reward, for the console's per-pack funnel.

Revision ID: rewards_0005
Revises: rewards_0004
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from alembic import op

revision: str = "rewards_0005"
down_revision: str | None = "rewards_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(op.f("ix_rewards_pack_id"), "rewards", ["pack_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_rewards_pack_id"), table_name="rewards")

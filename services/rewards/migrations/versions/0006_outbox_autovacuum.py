"""Vacuum and analyze the outbox after every 1,000 changed rows, not after 20% of it.

The relay marks each event sent, which leaves a dead row version whose
``sent_at`` was NULL, and its entry in the ``sent_at`` index, until vacuum
removes them; the relay's query for unsent events (``sent_at IS NULL``) meets
every one of them on each pass. PostgreSQL's default waits for dead rows to
reach 20% of the table, and the outbox only grows: a million sent events let
200,000 dead versions pile up under the relay's query. With a fixed threshold
vacuum runs at the next autovacuum round once 1,000 rows changed, and fresh
statistics keep the planner on a plain index scan (which also marks the dead
entries it meets, so the next pass skips them). Storage parameters only: no
change to the schema the models describe. SQLite has no autovacuum settings.

Revision ID: rewards_0006
Revises: rewards_0005
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from alembic import op

revision: str = "rewards_0006"
down_revision: str | None = "rewards_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SETTINGS = (
    "autovacuum_vacuum_scale_factor",
    "autovacuum_vacuum_threshold",
    "autovacuum_analyze_scale_factor",
    "autovacuum_analyze_threshold",
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "ALTER TABLE outbox_events SET ("
        "autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000, "
        "autovacuum_analyze_scale_factor = 0, autovacuum_analyze_threshold = 1000)"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"ALTER TABLE outbox_events RESET ({', '.join(SETTINGS)})")

"""Pack read model, referral links, clicks and daily roll-ups, conversions and shares.

Revision ID: referrals_0003
Revises: referrals_0002
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "referrals_0003"
down_revision: str | None = "referrals_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "packs",
        sa.Column("pack_id", sa.String(length=64), nullable=False),
        sa.Column("slug", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("destination_url", sa.Text(), nullable=False),
        sa.Column("cover_url", sa.Text(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("event_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("pack_id", name=op.f("pk_packs")),
    )
    op.create_table(
        "referral_links",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("fan_id", sa.String(length=64), nullable=True),
        sa.Column("fan_ref", sa.String(length=64), nullable=True),
        sa.Column("pack_id", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("human_clicks", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_links")),
        sa.UniqueConstraint("code", name=op.f("uq_referral_links_code")),
        sa.UniqueConstraint(
            "fan_id", "pack_id", "channel", name="uq_referral_links_fan_pack_channel"
        ),
    )
    with op.batch_alter_table("referral_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_referral_links_pack_id"), ["pack_id"], unique=False)

    op.create_table(
        "shares",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("fan_id", sa.String(length=64), nullable=True),
        sa.Column("pack_id", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shares")),
    )
    with op.batch_alter_table("shares", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shares_fan_id"), ["fan_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_shares_pack_id"), ["pack_id"], unique=False)

    op.create_table(
        "click_daily",
        sa.Column("link_id", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("pack_id", sa.String(length=64), nullable=False),
        sa.Column("human_clicks", sa.Integer(), server_default="0", nullable=False),
        sa.Column("unique_visitors", sa.Integer(), server_default="0", nullable=False),
        sa.Column("preview_fetches", sa.Integer(), server_default="0", nullable=False),
        sa.Column("bot_clicks", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["link_id"], ["referral_links.id"], name=op.f("fk_click_daily_link_id_referral_links")
        ),
        sa.PrimaryKeyConstraint("link_id", "day", name="pk_click_daily"),
    )
    with op.batch_alter_table("click_daily", schema=None) as batch_op:
        batch_op.create_index("ix_click_daily_pack_id_day", ["pack_id", "day"], unique=False)

    op.create_table(
        "clicks",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("click_id", sa.String(length=32), nullable=False),
        sa.Column("link_id", sa.BigInteger(), nullable=False),
        sa.Column("pack_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("visitor_hash", sa.String(length=64), nullable=True),
        sa.Column("ip_hash", sa.String(length=64), nullable=True),
        sa.Column("unique_visit", sa.Boolean(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["link_id"], ["referral_links.id"], name=op.f("fk_clicks_link_id_referral_links")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clicks")),
        sa.UniqueConstraint("click_id", name=op.f("uq_clicks_click_id")),
    )
    with op.batch_alter_table("clicks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_clicks_link_id_occurred_at", ["link_id", "occurred_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_clicks_occurred_at"), ["occurred_at"], unique=False)
        batch_op.create_index(
            "ix_clicks_visitor_hash_occurred_at", ["visitor_hash", "occurred_at"], unique=False
        )

    op.create_table(
        "conversions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("link_id", sa.BigInteger(), nullable=True),
        sa.Column("click_id", sa.String(length=32), nullable=True),
        sa.Column("fan_id", sa.String(length=64), nullable=True),
        sa.Column("pack_id", sa.String(length=64), nullable=True),
        sa.Column("amount_cents", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("customer_hash", sa.String(length=64), nullable=True),
        sa.Column("ip_hash", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approve_after", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reversed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reversal_reason", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["link_id"], ["referral_links.id"], name=op.f("fk_conversions_link_id_referral_links")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversions")),
        sa.UniqueConstraint("partner_id", "external_id", name="uq_conversions_partner_external"),
    )
    with op.batch_alter_table("conversions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_conversions_fan_id_customer_hash", ["fan_id", "customer_hash"], unique=False
        )
        batch_op.create_index(
            "ix_conversions_ip_hash_occurred_at", ["ip_hash", "occurred_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_conversions_pack_id"), ["pack_id"], unique=False)
        batch_op.create_index(
            "ix_conversions_status_approve_after", ["status", "approve_after"], unique=False
        )


def downgrade() -> None:
    # Dropping a table drops its indexes.
    for table in ("conversions", "clicks", "click_daily", "shares", "referral_links", "packs"):
        op.drop_table(table)

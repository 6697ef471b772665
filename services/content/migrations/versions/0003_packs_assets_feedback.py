"""Packs, tags, assets, renditions, feedback and fans' tiers.

Revision ID: content_0003
Revises: content_0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from services.common.db import BigIntPrimaryKey

revision: str = "content_0003"
down_revision: str | None = "content_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ForeignId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Moment = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "content_packs",
        sa.Column("id", BigIntPrimaryKey, primary_key=True, autoincrement=True),
        sa.Column("slug", sa.String(120), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("summary", sa.String(500), nullable=False),
        sa.Column("story", sa.Text(), nullable=False),
        sa.Column("purpose", sa.String(10), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("min_tier", sa.String(12), nullable=False),
        sa.Column("destination_url", sa.String(2048), nullable=False),
        sa.Column("captions", sa.JSON(), nullable=False),
        sa.Column("hashtags", sa.JSON(), nullable=False),
        sa.Column("sharing_rewarded", sa.Boolean(), nullable=False),
        sa.Column("disclosure", sa.String(50), nullable=False),
        sa.Column("created_by", sa.String(64)),
        sa.Column("expires_at", Moment),
        sa.Column("published_at", Moment),
        sa.Column("archived_at", Moment),
        sa.Column("created_at", Moment, nullable=False),
        sa.Column("updated_at", Moment, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_content_packs"),
        sa.UniqueConstraint("slug", name="uq_content_packs_slug"),
    )
    op.create_index("ix_content_packs_status", "content_packs", ["status"])
    op.create_table(
        "pack_tags",
        sa.Column("pack_id", ForeignId, nullable=False),
        sa.Column("tag", sa.String(50), nullable=False),
        sa.PrimaryKeyConstraint("pack_id", "tag", name="pk_pack_tags"),
        sa.ForeignKeyConstraint(
            ["pack_id"],
            ["content_packs.id"],
            name="fk_pack_tags_pack_id_content_packs",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_pack_tags_tag", "pack_tags", ["tag"])
    op.create_table(
        "assets",
        sa.Column("id", BigIntPrimaryKey, primary_key=True, autoincrement=True),
        sa.Column("pack_id", ForeignId, nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(50), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("failure_code", sa.String(50)),
        sa.Column("failure_message", sa.String(500)),
        sa.Column("width", sa.Integer()),
        sa.Column("height", sa.Integer()),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("alt_text", sa.String(500)),
        sa.Column("upload_key", sa.String(300), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_at", Moment, nullable=False),
        sa.Column("updated_at", Moment, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_assets"),
        sa.UniqueConstraint("upload_key", name="uq_assets_upload_key"),
        sa.ForeignKeyConstraint(
            ["pack_id"],
            ["content_packs.id"],
            name="fk_assets_pack_id_content_packs",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_assets_pack_id", "assets", ["pack_id"])
    op.create_table(
        "renditions",
        sa.Column("id", BigIntPrimaryKey, primary_key=True, autoincrement=True),
        sa.Column("asset_id", ForeignId, nullable=False),
        sa.Column("name", sa.String(20), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(50), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("storage_key", sa.String(300), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_renditions"),
        sa.UniqueConstraint("asset_id", "name", name="uq_renditions_asset_id_name"),
        sa.ForeignKeyConstraint(
            ["asset_id"], ["assets.id"], name="fk_renditions_asset_id_assets", ondelete="CASCADE"
        ),
    )
    op.create_table(
        "feedback",
        sa.Column("id", BigIntPrimaryKey, primary_key=True, autoincrement=True),
        sa.Column("pack_id", ForeignId, nullable=False),
        sa.Column("fan_id", sa.String(64)),
        sa.Column("sentiment", sa.String(10), nullable=False),
        sa.Column("text", sa.String(2000)),
        sa.Column("created_at", Moment, nullable=False),
        sa.Column("updated_at", Moment, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_feedback"),
        sa.UniqueConstraint(
            "pack_id", "fan_id", "sentiment", name="uq_feedback_pack_id_fan_id_sentiment"
        ),
        sa.ForeignKeyConstraint(
            ["pack_id"],
            ["content_packs.id"],
            name="fk_feedback_pack_id_content_packs",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_feedback_fan_id", "feedback", ["fan_id"])
    op.create_index("ix_feedback_pack_id_updated_at", "feedback", ["pack_id", "updated_at"])
    op.create_table(
        "fan_tiers",
        sa.Column("fan_id", sa.String(64), nullable=False),
        sa.Column("tier", sa.String(12), nullable=False),
        sa.Column("changed_at", Moment, nullable=False),
        sa.PrimaryKeyConstraint("fan_id", name="pk_fan_tiers"),
    )


def downgrade() -> None:
    op.drop_table("fan_tiers")
    op.drop_index("ix_feedback_pack_id_updated_at", table_name="feedback")
    op.drop_index("ix_feedback_fan_id", table_name="feedback")
    op.drop_table("feedback")
    op.drop_table("renditions")
    op.drop_index("ix_assets_pack_id", table_name="assets")
    op.drop_table("assets")
    op.drop_index("ix_pack_tags_tag", table_name="pack_tags")
    op.drop_table("pack_tags")
    op.drop_index("ix_content_packs_status", table_name="content_packs")
    op.drop_table("content_packs")

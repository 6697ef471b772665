"""Rules, the double-entry ledger, badges, catalog, code banks and deliveries.

Revision ID: rewards_0003
Revises: rewards_0002
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from services.common.db import BigIntPrimaryKey

revision: str = "rewards_0003"
down_revision: str | None = "rewards_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column(
            "id",
            BigIntPrimaryKey,
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("code", sa.String(length=60), nullable=True),
        sa.Column("fan_id", sa.String(length=64), nullable=True),
        sa.Column("balance", sa.BigInteger(), nullable=True),
        sa.Column("lifetime_points", sa.BigInteger(), nullable=True),
        sa.Column("tier", sa.String(length=20), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("code", name=op.f("uq_accounts_code")),
        sa.UniqueConstraint("fan_id", name=op.f("uq_accounts_fan_id")),
    )
    op.create_table(
        "code_banks",
        sa.Column(
            "id",
            BigIntPrimaryKey,
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("low_stock_threshold", sa.Integer(), nullable=False),
        sa.Column("low_stock_alerted", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_code_banks")),
        sa.UniqueConstraint("name", name=op.f("uq_code_banks_name")),
    )
    op.create_table(
        "email_days",
        sa.Column("fan_id", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("fan_id", "day", name="pk_email_days"),
    )
    op.create_table(
        "fan_profiles",
        sa.Column("fan_id", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("display_name", sa.String(length=100), nullable=True),
        sa.Column("thank_you_channel", sa.String(length=20), nullable=False),
        sa.Column("show_on_leaderboard", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("fan_id", name=op.f("pk_fan_profiles")),
    )
    op.create_table(
        "packs",
        sa.Column("pack_id", sa.String(length=64), nullable=False),
        sa.Column("slug", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("pack_id", name=op.f("pk_packs")),
    )
    op.create_table(
        "bank_codes",
        sa.Column(
            "id",
            BigIntPrimaryKey,
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("bank_id", sa.BigInteger(), nullable=False),
        sa.Column("code", sa.String(length=200), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["bank_id"], ["code_banks.id"], name=op.f("fk_bank_codes_bank_id_code_banks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_codes")),
        sa.UniqueConstraint("bank_id", "code", name="uq_bank_codes_bank_id_code"),
    )
    with op.batch_alter_table("bank_codes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_bank_codes_bank_id_claimed_at", ["bank_id", "claimed_at"], unique=False
        )

    op.create_table(
        "catalog_items",
        sa.Column(
            "id",
            BigIntPrimaryKey,
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("cost_points", sa.Integer(), nullable=False),
        sa.Column("stock", sa.Integer(), nullable=True),
        sa.Column("code_bank_id", sa.BigInteger(), nullable=True),
        sa.Column("gift_card_amount_cents", sa.Integer(), nullable=True),
        sa.Column("gift_card_currency", sa.String(length=3), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["code_bank_id"],
            ["code_banks.id"],
            name=op.f("fk_catalog_items_code_bank_id_code_banks"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_items")),
    )
    op.create_table(
        "rules",
        sa.Column(
            "id",
            BigIntPrimaryKey,
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("key", sa.String(length=80), nullable=True),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("trigger", sa.String(length=30), nullable=False),
        sa.Column("trigger_clicks", sa.Integer(), nullable=True),
        sa.Column("trigger_tier", sa.String(length=20), nullable=True),
        sa.Column("pack_id", sa.String(length=64), nullable=True),
        sa.Column("tag", sa.String(length=60), nullable=True),
        sa.Column("reward_kind", sa.String(length=20), nullable=False),
        sa.Column("points", sa.Integer(), nullable=True),
        sa.Column("badge_code", sa.String(length=60), nullable=True),
        sa.Column("code_bank_id", sa.BigInteger(), nullable=True),
        sa.Column("gift_card_amount_cents", sa.Integer(), nullable=True),
        sa.Column("gift_card_currency", sa.String(length=3), nullable=True),
        sa.Column("note_template", sa.Text(), nullable=True),
        sa.Column("cap_per_day", sa.Integer(), nullable=True),
        sa.Column("cap_per_week", sa.Integer(), nullable=True),
        sa.Column("cap_total", sa.Integer(), nullable=True),
        sa.Column("budget", sa.BigInteger(), nullable=True),
        sa.Column("budget_spent", sa.BigInteger(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["code_bank_id"], ["code_banks.id"], name=op.f("fk_rules_code_bank_id_code_banks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rules")),
        sa.UniqueConstraint("key", name=op.f("uq_rules_key")),
    )
    with op.batch_alter_table("rules", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rules_trigger"), ["trigger"], unique=False)

    op.create_table(
        "redemptions",
        sa.Column(
            "id",
            BigIntPrimaryKey,
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("fan_id", sa.String(length=64), nullable=True),
        sa.Column("item_id", sa.BigInteger(), nullable=False),
        sa.Column("cost_points", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=80), nullable=False),
        sa.Column("code_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_redemptions_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["code_id"], ["bank_codes.id"], name=op.f("fk_redemptions_code_id_bank_codes")
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["catalog_items.id"], name=op.f("fk_redemptions_item_id_catalog_items")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_redemptions")),
        sa.UniqueConstraint(
            "account_id", "idempotency_key", name="uq_redemptions_account_id_idempotency_key"
        ),
        sa.UniqueConstraint("code_id", name=op.f("uq_redemptions_code_id")),
    )
    with op.batch_alter_table("redemptions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_redemptions_fan_id"), ["fan_id"], unique=False)

    op.create_table(
        "rewards",
        sa.Column(
            "id",
            BigIntPrimaryKey,
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("rule_id", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("event_type", sa.String(length=120), nullable=False),
        sa.Column("fan_id", sa.String(length=64), nullable=True),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("badge_code", sa.String(length=60), nullable=True),
        sa.Column("code_id", sa.BigInteger(), nullable=True),
        sa.Column("amount_cents", sa.Integer(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("pack_id", sa.String(length=64), nullable=True),
        sa.Column("conversion_id", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reversed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_rewards_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["code_id"], ["bank_codes.id"], name=op.f("fk_rewards_code_id_bank_codes")
        ),
        sa.ForeignKeyConstraint(["rule_id"], ["rules.id"], name=op.f("fk_rewards_rule_id_rules")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rewards")),
        sa.UniqueConstraint("code_id", name=op.f("uq_rewards_code_id")),
        sa.UniqueConstraint("rule_id", "event_id", name="uq_rewards_rule_id_event_id"),
    )
    with op.batch_alter_table("rewards", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_rewards_conversion_id"), ["conversion_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_rewards_fan_id"), ["fan_id"], unique=False)

    op.create_table(
        "rule_fan_counters",
        sa.Column("rule_id", sa.BigInteger(), nullable=False),
        sa.Column("fan_id", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=20), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["rule_id"], ["rules.id"], name=op.f("fk_rule_fan_counters_rule_id_rules")
        ),
        sa.PrimaryKeyConstraint("rule_id", "fan_id", "period", name="pk_rule_fan_counters"),
    )
    op.create_table(
        "deliveries",
        sa.Column(
            "id",
            BigIntPrimaryKey,
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("reward_id", sa.BigInteger(), nullable=False),
        sa.Column("fan_id", sa.String(length=64), nullable=True),
        sa.Column("channel", sa.String(length=20), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("digest_date", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["reward_id"], ["rewards.id"], name=op.f("fk_deliveries_reward_id_rewards")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint("reward_id", name=op.f("uq_deliveries_reward_id")),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deliveries_fan_id"), ["fan_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_deliveries_status"), ["status"], unique=False)

    op.create_table(
        "fan_badges",
        sa.Column("fan_id", sa.String(length=64), nullable=False),
        sa.Column("badge_code", sa.String(length=60), nullable=False),
        sa.Column("reward_id", sa.BigInteger(), nullable=True),
        sa.Column("awarded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["reward_id"], ["rewards.id"], name=op.f("fk_fan_badges_reward_id_rewards")
        ),
        sa.PrimaryKeyConstraint("fan_id", "badge_code", name="pk_fan_badges"),
    )
    op.create_table(
        "gift_card_orders",
        sa.Column(
            "id",
            BigIntPrimaryKey,
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("idempotency_key", sa.String(length=120), nullable=False),
        sa.Column("reward_id", sa.BigInteger(), nullable=True),
        sa.Column("redemption_id", sa.BigInteger(), nullable=True),
        sa.Column("fan_id", sa.String(length=64), nullable=True),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("provider", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("card_code", sa.String(length=200), nullable=True),
        sa.Column("provider_reference", sa.String(length=200), nullable=True),
        sa.Column("fulfilled_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fulfilled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["redemption_id"],
            ["redemptions.id"],
            name=op.f("fk_gift_card_orders_redemption_id_redemptions"),
        ),
        sa.ForeignKeyConstraint(
            ["reward_id"], ["rewards.id"], name=op.f("fk_gift_card_orders_reward_id_rewards")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gift_card_orders")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_gift_card_orders_idempotency_key")),
    )
    with op.batch_alter_table("gift_card_orders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gift_card_orders_fan_id"), ["fan_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_gift_card_orders_status"), ["status"], unique=False)

    op.create_table(
        "handwritten_notes",
        sa.Column(
            "id",
            BigIntPrimaryKey,
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("reward_id", sa.BigInteger(), nullable=False),
        sa.Column("fan_id", sa.String(length=64), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("written_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["reward_id"], ["rewards.id"], name=op.f("fk_handwritten_notes_reward_id_rewards")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handwritten_notes")),
        sa.UniqueConstraint("reward_id", name=op.f("uq_handwritten_notes_reward_id")),
    )
    with op.batch_alter_table("handwritten_notes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_handwritten_notes_fan_id"), ["fan_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_handwritten_notes_status"), ["status"], unique=False)

    op.create_table(
        "ledger_entries",
        sa.Column(
            "id",
            BigIntPrimaryKey,
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("journal_id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("reward_id", sa.BigInteger(), nullable=True),
        sa.Column("redemption_id", sa.BigInteger(), nullable=True),
        sa.Column("reverses_entry_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_ledger_entries_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["redemption_id"],
            ["redemptions.id"],
            name=op.f("fk_ledger_entries_redemption_id_redemptions"),
        ),
        sa.ForeignKeyConstraint(
            ["reverses_entry_id"],
            ["ledger_entries.id"],
            name=op.f("fk_ledger_entries_reverses_entry_id_ledger_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["reward_id"], ["rewards.id"], name=op.f("fk_ledger_entries_reward_id_rewards")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
        sa.UniqueConstraint("reverses_entry_id", name=op.f("uq_ledger_entries_reverses_entry_id")),
    )
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ledger_entries_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_ledger_entries_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_ledger_entries_journal_id"), ["journal_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_ledger_entries_reward_id"), ["reward_id"], unique=False
        )

    op.create_table(
        "wall_posts",
        sa.Column(
            "id",
            BigIntPrimaryKey,
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("reward_id", sa.BigInteger(), nullable=False),
        sa.Column("fan_id", sa.String(length=64), nullable=True),
        sa.Column("message", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["reward_id"], ["rewards.id"], name=op.f("fk_wall_posts_reward_id_rewards")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wall_posts")),
        sa.UniqueConstraint("reward_id", name=op.f("uq_wall_posts_reward_id")),
    )
    with op.batch_alter_table("wall_posts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_wall_posts_fan_id"), ["fan_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("wall_posts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wall_posts_fan_id"))

    op.drop_table("wall_posts")
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_entries_reward_id"))
        batch_op.drop_index(batch_op.f("ix_ledger_entries_journal_id"))
        batch_op.drop_index(batch_op.f("ix_ledger_entries_created_at"))
        batch_op.drop_index(batch_op.f("ix_ledger_entries_account_id"))

    op.drop_table("ledger_entries")
    with op.batch_alter_table("handwritten_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_handwritten_notes_status"))
        batch_op.drop_index(batch_op.f("ix_handwritten_notes_fan_id"))

    op.drop_table("handwritten_notes")
    with op.batch_alter_table("gift_card_orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gift_card_orders_status"))
        batch_op.drop_index(batch_op.f("ix_gift_card_orders_fan_id"))

    op.drop_table("gift_card_orders")
    op.drop_table("fan_badges")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deliveries_status"))
        batch_op.drop_index(batch_op.f("ix_deliveries_fan_id"))

    op.drop_table("deliveries")
    op.drop_table("rule_fan_counters")
    with op.batch_alter_table("rewards", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rewards_fan_id"))
        batch_op.drop_index(batch_op.f("ix_rewards_conversion_id"))

    op.drop_table("rewards")
    with op.batch_alter_table("redemptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_redemptions_fan_id"))

    op.drop_table("redemptions")
    with op.batch_alter_table("rules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rules_trigger"))

    op.drop_table("rules")
    op.drop_table("catalog_items")
    with op.batch_alter_table("bank_codes", schema=None) as batch_op:
        batch_op.drop_index("ix_bank_codes_bank_id_claimed_at")

    op.drop_table("bank_codes")
    op.drop_table("packs")
    op.drop_table("fan_profiles")
    op.drop_table("email_days")
    op.drop_table("code_banks")
    op.drop_table("accounts")

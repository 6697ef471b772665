"""The rewards service's tables: its own database, read by no other service.

Points live in an append-only, double-entry ledger: every journal is a set of
entries whose amounts sum to zero, one side on a fan account, the other on a
program account. A fan account caches its balance, lifetime points and tier;
`fanfare rewards reconcile` proves the caches equal the entries. Program
accounts cache nothing, so issuing never queues every worker on one hot row.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from services.common.db import BigIntPrimaryKey, new_metadata
from services.common.outbox import EventTables
from services.common.utc_time import UtcDateTime

metadata = new_metadata()
event_tables = EventTables(metadata)

FAN_ID = String(64)
Timestamp = UtcDateTime()

fan_profiles = Table(
    "fan_profiles",
    metadata,
    Column("fan_id", FAN_ID, primary_key=True),
    Column("email", String(320)),
    Column("display_name", String(100)),
    Column("thank_you_channel", String(20), nullable=False),
    Column("show_on_leaderboard", Boolean, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", BigIntPrimaryKey, primary_key=True, autoincrement=True),
    Column("kind", String(10), nullable=False),
    # program accounts are named by code; fan accounts by fan_id (NULL once erased)
    Column("code", String(60), unique=True),
    Column("fan_id", FAN_ID, unique=True),
    Column("balance", BigInteger),
    Column("lifetime_points", BigInteger),
    Column("tier", String(20)),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
)

packs = Table(
    "packs",
    metadata,
    Column("pack_id", String(64), primary_key=True),
    Column("slug", String(200), nullable=False),
    Column("title", String(300), nullable=False),
    Column("tags", JSON, nullable=False),
    Column("status", String(20), nullable=False),
    Column("updated_at", Timestamp, nullable=False),
)

code_banks = Table(
    "code_banks",
    metadata,
    Column("id", BigIntPrimaryKey, primary_key=True, autoincrement=True),
    Column("name", String(120), nullable=False, unique=True),
    Column("low_stock_threshold", Integer, nullable=False),
    Column("low_stock_alerted", Boolean, nullable=False),
    Column("created_at", Timestamp, nullable=False),
)

rules = Table(
    "rules",
    metadata,
    Column("id", BigIntPrimaryKey, primary_key=True, autoincrement=True),
    Column("key", String(80), unique=True),
    Column("name", String(120), nullable=False),
    Column("trigger", String(30), nullable=False, index=True),
    Column("trigger_clicks", Integer),
    Column("trigger_tier", String(20)),
    Column("pack_id", String(64)),
    Column("tag", String(60)),
    Column("reward_kind", String(20), nullable=False),
    Column("points", Integer),
    Column("badge_code", String(60)),
    Column("code_bank_id", BigInteger, ForeignKey("code_banks.id")),
    Column("gift_card_amount_cents", Integer),
    Column("gift_card_currency", String(3)),
    Column("note_template", Text),
    Column("cap_per_day", Integer),
    Column("cap_per_week", Integer),
    Column("cap_total", Integer),
    Column("budget", BigInteger),
    Column("budget_spent", BigInteger, nullable=False),
    Column("paused", Boolean, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
)

# One row, bumped in the transaction of every change to a rule: workers cache
# the live rules and reload them when the version they read differs.
rules_version = Table(
    "rules_version",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("version", BigInteger, nullable=False),
)

rule_fan_counters = Table(
    "rule_fan_counters",
    metadata,
    Column("rule_id", BigInteger, ForeignKey("rules.id"), nullable=False),
    Column("fan_id", FAN_ID, nullable=False),
    Column("period", String(20), nullable=False),
    Column("count", Integer, nullable=False),
    PrimaryKeyConstraint("rule_id", "fan_id", "period", name="pk_rule_fan_counters"),
)

bank_codes = Table(
    "bank_codes",
    metadata,
    Column("id", BigIntPrimaryKey, primary_key=True, autoincrement=True),
    Column("bank_id", BigInteger, ForeignKey("code_banks.id"), nullable=False),
    Column("code", String(200), nullable=False),
    Column("claimed_at", Timestamp),
    Column("created_at", Timestamp, nullable=False),
    UniqueConstraint("bank_id", "code", name="uq_bank_codes_bank_id_code"),
    Index("ix_bank_codes_bank_id_claimed_at", "bank_id", "claimed_at"),
)

rewards = Table(
    "rewards",
    metadata,
    Column("id", BigIntPrimaryKey, primary_key=True, autoincrement=True),
    Column("rule_id", BigInteger, ForeignKey("rules.id"), nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("event_type", String(120), nullable=False),
    Column("fan_id", FAN_ID, index=True),
    Column("account_id", BigInteger, ForeignKey("accounts.id"), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("points", Integer, nullable=False),
    Column("badge_code", String(60)),
    Column("code_id", BigInteger, ForeignKey("bank_codes.id"), unique=True),
    Column("amount_cents", Integer),
    Column("currency", String(3)),
    Column("note", Text),
    # indexed for the per-pack funnel's rewards step (pack_stats.py)
    Column("pack_id", String(64), index=True),
    Column("conversion_id", String(64), index=True),
    Column("status", String(20), nullable=False),
    Column("occurred_at", Timestamp, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("reversed_at", Timestamp),
    # the exactly-once key: one reward per (rule, event), whatever delivers the event
    UniqueConstraint("rule_id", "event_id", name="uq_rewards_rule_id_event_id"),
)

catalog_items = Table(
    "catalog_items",
    metadata,
    Column("id", BigIntPrimaryKey, primary_key=True, autoincrement=True),
    Column("name", String(120), nullable=False),
    Column("description", Text, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("cost_points", Integer, nullable=False),
    Column("stock", Integer),
    Column("code_bank_id", BigInteger, ForeignKey("code_banks.id")),
    Column("gift_card_amount_cents", Integer),
    Column("gift_card_currency", String(3)),
    Column("active", Boolean, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
)

redemptions = Table(
    "redemptions",
    metadata,
    Column("id", BigIntPrimaryKey, primary_key=True, autoincrement=True),
    Column("account_id", BigInteger, ForeignKey("accounts.id"), nullable=False),
    Column("fan_id", FAN_ID, index=True),
    Column("item_id", BigInteger, ForeignKey("catalog_items.id"), nullable=False),
    Column("cost_points", Integer, nullable=False),
    Column("idempotency_key", String(80), nullable=False),
    Column("code_id", BigInteger, ForeignKey("bank_codes.id"), unique=True),
    Column("created_at", Timestamp, nullable=False),
    UniqueConstraint(
        "account_id", "idempotency_key", name="uq_redemptions_account_id_idempotency_key"
    ),
)

ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column("id", BigIntPrimaryKey, primary_key=True, autoincrement=True),
    Column("journal_id", String(36), nullable=False, index=True),
    Column("account_id", BigInteger, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("amount", BigInteger, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("reward_id", BigInteger, ForeignKey("rewards.id"), index=True),
    Column("redemption_id", BigInteger, ForeignKey("redemptions.id")),
    # an entry is reversed at most once: the database refuses a second reversal
    Column("reverses_entry_id", BigInteger, ForeignKey("ledger_entries.id"), unique=True),
    Column("created_at", Timestamp, nullable=False, index=True),
)

fan_badges = Table(
    "fan_badges",
    metadata,
    Column("fan_id", FAN_ID, nullable=False),
    Column("badge_code", String(60), nullable=False),
    Column("reward_id", BigInteger, ForeignKey("rewards.id")),
    Column("awarded_at", Timestamp, nullable=False),
    PrimaryKeyConstraint("fan_id", "badge_code", name="pk_fan_badges"),
)

gift_card_orders = Table(
    "gift_card_orders",
    metadata,
    Column("id", BigIntPrimaryKey, primary_key=True, autoincrement=True),
    Column("idempotency_key", String(120), nullable=False, unique=True),
    Column("reward_id", BigInteger, ForeignKey("rewards.id")),
    Column("redemption_id", BigInteger, ForeignKey("redemptions.id")),
    Column("fan_id", FAN_ID, index=True),
    Column("amount_cents", Integer, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("provider", String(40), nullable=False),
    Column("status", String(20), nullable=False, index=True),
    Column("card_code", String(200)),
    Column("provider_reference", String(200)),
    Column("fulfilled_by", String(64)),
    Column("created_at", Timestamp, nullable=False),
    Column("fulfilled_at", Timestamp),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", BigIntPrimaryKey, primary_key=True, autoincrement=True),
    Column("reward_id", BigInteger, ForeignKey("rewards.id"), nullable=False, unique=True),
    Column("fan_id", FAN_ID, index=True),
    Column("channel", String(20)),
    Column("status", String(20), nullable=False, index=True),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text),
    Column("digest_date", Date),
    Column("created_at", Timestamp, nullable=False),
    Column("delivered_at", Timestamp),
)

email_days = Table(
    "email_days",
    metadata,
    Column("fan_id", FAN_ID, nullable=False),
    Column("day", Date, nullable=False),
    Column("sent_at", Timestamp, nullable=False),
    PrimaryKeyConstraint("fan_id", "day", name="pk_email_days"),
)

wall_posts = Table(
    "wall_posts",
    metadata,
    Column("id", BigIntPrimaryKey, primary_key=True, autoincrement=True),
    Column("reward_id", BigInteger, ForeignKey("rewards.id"), nullable=False, unique=True),
    Column("fan_id", FAN_ID, index=True),
    Column("message", String(500), nullable=False),
    Column("created_at", Timestamp, nullable=False),
)

handwritten_notes = Table(
    "handwritten_notes",
    metadata,
    Column("id", BigIntPrimaryKey, primary_key=True, autoincrement=True),
    Column("reward_id", BigInteger, ForeignKey("rewards.id"), nullable=False, unique=True),
    Column("fan_id", FAN_ID, index=True),
    Column("message", Text, nullable=False),
    Column("status", String(20), nullable=False, index=True),
    Column("written_by", String(64)),
    Column("created_at", Timestamp, nullable=False),
    Column("written_at", Timestamp),
)

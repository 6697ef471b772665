"""The referrals service's tables: its own database, read by no other service."""

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

# Read model of the content service's packs, kept from its events: the redirect and the
# preview page read only this, never the content service.
packs = Table(
    "packs",
    metadata,
    Column("pack_id", String(64), primary_key=True),
    Column("slug", String(200), nullable=False),
    Column("title", String(300), nullable=False),
    Column("summary", Text, nullable=False),
    Column("destination_url", Text, nullable=False),
    Column("cover_url", Text),
    Column("expires_at", UtcDateTime),
    Column("status", String(20), nullable=False),
    # The occurred_at of the newest event applied: an older event arriving late is ignored.
    Column("event_at", UtcDateTime, nullable=False),
)

referral_links = Table(
    "referral_links",
    metadata,
    Column("id", BigIntPrimaryKey, primary_key=True, autoincrement=True),
    Column("code", String(16), nullable=False, unique=True),
    # Null once the fan is erased: the link keeps redirecting and counting, anonymously.
    Column("fan_id", String(64)),
    Column("fan_ref", String(64)),
    Column("pack_id", String(64), nullable=False, index=True),
    Column("channel", String(20), nullable=False),
    Column("human_clicks", BigInteger, nullable=False, server_default="0"),
    Column("created_at", UtcDateTime, nullable=False),
    Column("erased_at", UtcDateTime),
    UniqueConstraint("fan_id", "pack_id", "channel", name="uq_referral_links_fan_pack_channel"),
)

# Raw clicks, kept CLICK_RETENTION_DAYS. On PostgreSQL range-partitioned by day of
# occurred_at (partitions.py makes and drops them), so retention drops whole days. A
# partitioned table's keys must hold the partition key, hence (click_id, occurred_at):
# a click carries its own time, so a click delivered twice still conflicts with itself.
clicks = Table(
    "clicks",
    metadata,
    Column("click_id", String(32), nullable=False),
    Column("link_id", BigInteger, ForeignKey("referral_links.id"), nullable=False),
    Column("pack_id", String(64), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("visitor_hash", String(64)),
    Column("ip_hash", String(64)),
    Column("unique_visit", Boolean, nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False, index=True),
    PrimaryKeyConstraint("click_id", "occurred_at", name="pk_clicks"),
    Index("ix_clicks_link_id_occurred_at", "link_id", "occurred_at"),
    Index("ix_clicks_visitor_hash_occurred_at", "visitor_hash", "occurred_at"),
    postgresql_partition_by="RANGE (occurred_at)",
)

click_daily = Table(
    "click_daily",
    metadata,
    Column("link_id", BigInteger, ForeignKey("referral_links.id"), nullable=False),
    Column("day", Date, nullable=False),
    Column("pack_id", String(64), nullable=False),
    Column("human_clicks", Integer, nullable=False, server_default="0"),
    Column("unique_visitors", Integer, nullable=False, server_default="0"),
    Column("preview_fetches", Integer, nullable=False, server_default="0"),
    Column("bot_clicks", Integer, nullable=False, server_default="0"),
    PrimaryKeyConstraint("link_id", "day", name="pk_click_daily"),
    Index("ix_click_daily_pack_id_day", "pack_id", "day"),
)

conversions = Table(
    "conversions",
    metadata,
    Column("id", BigIntPrimaryKey, primary_key=True, autoincrement=True),
    # The partner's API key id: idempotency is per (partner, external id).
    Column("partner_id", String(64), nullable=False),
    Column("external_id", String(200), nullable=False),
    Column("link_id", BigInteger, ForeignKey("referral_links.id")),
    Column("click_id", String(32)),
    Column("fan_id", String(64)),
    Column("pack_id", String(64), index=True),
    Column("amount_cents", BigInteger),
    Column("currency", String(3)),
    Column("customer_hash", String(64)),
    Column("ip_hash", String(64)),
    Column("status", String(10), nullable=False),
    Column("flags", JSON, nullable=False),
    Column("reason", String(500)),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("approve_after", UtcDateTime),
    Column("approved_at", UtcDateTime),
    Column("reversed_at", UtcDateTime),
    Column("reversal_reason", String(500)),
    UniqueConstraint("partner_id", "external_id", name="uq_conversions_partner_external"),
    Index("ix_conversions_status_approve_after", "status", "approve_after"),
    Index("ix_conversions_ip_hash_occurred_at", "ip_hash", "occurred_at"),
    Index("ix_conversions_fan_id_customer_hash", "fan_id", "customer_hash"),
)

shares = Table(
    "shares",
    metadata,
    Column("id", BigIntPrimaryKey, primary_key=True, autoincrement=True),
    Column("fan_id", String(64), index=True),
    Column("pack_id", String(64), nullable=False, index=True),
    Column("channel", String(20), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

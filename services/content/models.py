"""The content service's tables: its own database, read by no other service."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import BigIntPrimaryKey, new_metadata
from services.common.outbox import EventTables
from services.common.utc_time import UtcDateTime

metadata = new_metadata()
event_tables = EventTables(metadata)

# The order of fans' tiers; a fan with no row in fan_tiers is a FAN.
TIERS = ("FAN", "ADVOCATE", "INSIDER", "AMBASSADOR")
PURPOSES = ("LAUGH", "LEARN", "LOVE")
PACK_STATUSES = ("DRAFT", "PUBLISHED", "ARCHIVED")
ASSET_STATUSES = ("PROCESSING", "READY", "FAILED")
SENTIMENTS = ("POSITIVE", "NEGATIVE", "IDEA")
CHANNELS = (
    "X",
    "FACEBOOK",
    "LINKEDIN",
    "INSTAGRAM",
    "WHATSAPP",
    "EMAIL",
    "SMS",
    "QR",
    "COPY",
    "OTHER",
)


class Base(DeclarativeBase):
    metadata = metadata


class ContentPack(Base):
    __tablename__ = "content_packs"

    id: Mapped[int] = mapped_column(BigIntPrimaryKey, primary_key=True, autoincrement=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(String(500))
    story: Mapped[str] = mapped_column(Text)
    purpose: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(12), index=True)
    min_tier: Mapped[str] = mapped_column(String(12))
    destination_url: Mapped[str] = mapped_column(String(2048))
    captions: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    hashtags: Mapped[list[str]] = mapped_column(JSON)
    sharing_rewarded: Mapped[bool] = mapped_column(Boolean)
    disclosure: Mapped[str] = mapped_column(String(50))
    created_by: Mapped[str | None] = mapped_column(String(64))
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    archived_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class PackTag(Base):
    """One row per (pack, tag), so a tag filter is an indexed lookup on both databases."""

    __tablename__ = "pack_tags"

    pack_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"),
        ForeignKey("content_packs.id", ondelete="CASCADE"),
        primary_key=True,
    )
    tag: Mapped[str] = mapped_column(String(50), primary_key=True, index=True)


class Asset(Base):
    __tablename__ = "assets"

    id: Mapped[int] = mapped_column(BigIntPrimaryKey, primary_key=True, autoincrement=True)
    pack_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"),
        ForeignKey("content_packs.id", ondelete="CASCADE"),
        index=True,
    )
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(12))
    failure_code: Mapped[str | None] = mapped_column(String(50))
    failure_message: Mapped[str | None] = mapped_column(String(500))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    bytes: Mapped[int] = mapped_column(BigInteger)
    alt_text: Mapped[str | None] = mapped_column(String(500))
    # Where the uploaded file waits for processing; unique so a repeated
    # "complete" of one direct upload finds the asset it already made.
    upload_key: Mapped[str] = mapped_column(String(300), unique=True)
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Rendition(Base):
    __tablename__ = "renditions"
    __table_args__ = (UniqueConstraint("asset_id", "name", name="uq_renditions_asset_id_name"),)

    id: Mapped[int] = mapped_column(BigIntPrimaryKey, primary_key=True, autoincrement=True)
    asset_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"),
        ForeignKey("assets.id", ondelete="CASCADE"),
    )
    name: Mapped[str] = mapped_column(String(20))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str] = mapped_column(String(50))
    bytes: Mapped[int] = mapped_column(BigInteger)
    storage_key: Mapped[str] = mapped_column(String(300))


class Feedback(Base):
    __tablename__ = "feedback"
    __table_args__ = (
        # One of each sentiment per fan and pack; a later one replaces the earlier.
        UniqueConstraint(
            "pack_id", "fan_id", "sentiment", name="uq_feedback_pack_id_fan_id_sentiment"
        ),
        Index("ix_feedback_pack_id_updated_at", "pack_id", "updated_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPrimaryKey, primary_key=True, autoincrement=True)
    pack_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"),
        ForeignKey("content_packs.id", ondelete="CASCADE"),
    )
    # Null once the fan erased their account: the feedback still counts, anonymously.
    fan_id: Mapped[str | None] = mapped_column(String(64), index=True)
    sentiment: Mapped[str] = mapped_column(String(10))
    text: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class FanTier(Base):
    """Each fan's tier, kept from rewards.tier_changed events."""

    __tablename__ = "fan_tiers"

    fan_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tier: Mapped[str] = mapped_column(String(12))
    # When rewards decided the tier: an older event arriving late changes nothing.
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime)

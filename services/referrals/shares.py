"""Shares a fan records: counted in stats and announced to rewards."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.orm import Session

from services.common.outbox import Outbox
from services.referrals.models import shares
from services.referrals.packs import require_live_pack


@dataclass(frozen=True)
class ShareRecord:
    id: int
    fan_id: str
    pack_id: str
    channel: str
    created_at: datetime


def record_share(
    session: Session,
    outbox: Outbox | None,
    *,
    fan_id: str,
    pack_id: str,
    channel: str,
    now: datetime,
) -> ShareRecord:
    """Record that the fan shared the pack on a channel, and tell rewards."""
    require_live_pack(session, pack_id, now)
    share_id = session.execute(
        insert(shares)
        .values(fan_id=fan_id, pack_id=pack_id, channel=channel, created_at=now)
        .returning(shares.c.id)
    ).scalar_one()
    if outbox is not None:
        outbox.add(
            session,
            "referrals.share_recorded",
            {
                "share_id": str(share_id),
                "fan_id": fan_id,
                "pack_id": pack_id,
                "channel": channel,
            },
        )
    return ShareRecord(id=share_id, fan_id=fan_id, pack_id=pack_id, channel=channel, created_at=now)

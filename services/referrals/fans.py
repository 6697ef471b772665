"""A fan's data in this service: exported on request, erased on account deletion.

Erasure unties the fan's links, shares and conversions from them (fan id and
email digest set to null) and keeps every anonymous count: the roll-ups, the
pack totals and the clicks themselves, which never named the fan.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.referrals.models import conversions, referral_links, shares


def export_fan(session: Session, fan_id: str) -> dict[str, Any]:
    links = session.execute(
        select(
            referral_links.c.id,
            referral_links.c.code,
            referral_links.c.pack_id,
            referral_links.c.channel,
            referral_links.c.human_clicks,
            referral_links.c.created_at,
        )
        .where(referral_links.c.fan_id == fan_id)
        .order_by(referral_links.c.id)
    ).all()
    fan_shares = session.execute(
        select(shares.c.id, shares.c.pack_id, shares.c.channel, shares.c.created_at)
        .where(shares.c.fan_id == fan_id)
        .order_by(shares.c.id)
    ).all()
    fan_conversions = session.execute(
        select(
            conversions.c.id,
            conversions.c.pack_id,
            conversions.c.status,
            conversions.c.amount_cents,
            conversions.c.currency,
            conversions.c.occurred_at,
        )
        .where(conversions.c.fan_id == fan_id)
        .order_by(conversions.c.id)
    ).all()
    return {
        "fan_id": fan_id,
        "links": [
            {
                "id": str(row.id),
                "code": row.code,
                "pack_id": row.pack_id,
                "channel": row.channel,
                "human_clicks": row.human_clicks,
                "created_at": row.created_at.isoformat(),
            }
            for row in links
        ],
        "shares": [
            {
                "id": str(row.id),
                "pack_id": row.pack_id,
                "channel": row.channel,
                "created_at": row.created_at.isoformat(),
            }
            for row in fan_shares
        ],
        "conversions": [
            {
                "id": str(row.id),
                "pack_id": row.pack_id,
                "status": row.status,
                "amount_cents": row.amount_cents,
                "currency": row.currency,
                "occurred_at": row.occurred_at.isoformat(),
            }
            for row in fan_conversions
        ],
    }


def erase_fan(session: Session, fan_id: str, *, now: datetime) -> dict[str, int]:
    """Remove the fan's personal ties; returns how many rows of each kind were untied."""
    links = session.execute(
        update(referral_links)
        .where(referral_links.c.fan_id == fan_id)
        .values(fan_id=None, fan_ref=None, erased_at=now)
        .returning(referral_links.c.id)
    ).all()
    fan_shares = session.execute(
        update(shares).where(shares.c.fan_id == fan_id).values(fan_id=None).returning(shares.c.id)
    ).all()
    fan_conversions = session.execute(
        update(conversions)
        .where(conversions.c.fan_id == fan_id)
        .values(fan_id=None)
        .returning(conversions.c.id)
    ).all()
    return {"links": len(links), "shares": len(fan_shares), "conversions": len(fan_conversions)}

"""Thank-you deliveries, each through the channel the fan prefers at delivery time.

A delivery row is written in the transaction that issues its reward; a task
sends it after commit, and a periodic sweep re-sends any whose task was lost.
PRIVATE_EMAIL sends at most one email per fan per UTC day (``email_days``);
later thank-yous that day wait for the next day's digest.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.orm import Session

from services.common.db import Database
from services.common.sql import insert_ignoring_conflicts, is_postgresql
from services.common.utc_time import utcnow
from services.rewards.interfaces import Mailer, MailRejected, OutgoingEmail, TaskQueue
from services.rewards.messages import email_text, private_line, public_line
from services.rewards.models import (
    deliveries,
    email_days,
    fan_profiles,
    handwritten_notes,
    wall_posts,
)
from services.rewards.reward_queries import reward_details
from services.rewards.sql import enqueue_after_commit

log = logging.getLogger(__name__)

PRIVATE_EMAIL = "PRIVATE_EMAIL"
PUBLIC_SHOUTOUT = "PUBLIC_SHOUTOUT"
HANDWRITTEN_NOTE = "HANDWRITTEN_NOTE"
NONE = "NONE"
CHANNELS = (PRIVATE_EMAIL, PUBLIC_SHOUTOUT, HANDWRITTEN_NOTE, NONE)

PENDING = "PENDING"
SILENT = "SILENT"
DIGEST_PENDING = "DIGEST_PENDING"
FINAL_STATUSES = ("SENT", "DIGESTED", "ON_WALL", "NOTE_QUEUED", "SILENT", "NO_EMAIL", "FAILED")

DELIVER_TASK = "rewards.deliver_reward"
DIGEST_TASK = "rewards.send_digest"
ANONYMOUS_NAME = "A fan"


@dataclass(frozen=True)
class MailConfig:
    mailer: Mailer
    sender: str


def create_delivery(
    session: Session, *, reward_id: int, fan_id: str, queue: TaskQueue | None
) -> None:
    """Queue the thank-you of a reward being issued in ``session``'s transaction.

    A fan who chose NONE (or has no profile yet) is thanked silently right
    away, which spares the workers a task per silent reward.
    """
    channel = session.scalar(
        select(fan_profiles.c.thank_you_channel).where(fan_profiles.c.fan_id == fan_id)
    )
    create_delivery_for_channel(
        session, reward_id=reward_id, fan_id=fan_id, channel=channel, queue=queue
    )


def create_delivery_for_channel(
    session: Session, *, reward_id: int, fan_id: str, channel: str | None, queue: TaskQueue | None
) -> None:
    """:func:`create_delivery` when the caller already read the fan's channel."""
    now = utcnow()
    if channel in (None, NONE):
        session.execute(
            insert(deliveries).values(
                reward_id=reward_id,
                fan_id=fan_id,
                channel=NONE,
                status="SILENT",
                attempts=0,
                created_at=now,
                delivered_at=now,
            )
        )
        return
    delivery_id = session.execute(
        insert(deliveries)
        .values(reward_id=reward_id, fan_id=fan_id, status=PENDING, attempts=0, created_at=now)
        .returning(deliveries.c.id)
    ).scalar_one()
    enqueue_after_commit(session, queue, DELIVER_TASK, int(delivery_id))


def deliver_reward(db: Database, *, delivery_id: int, mail: MailConfig, today: date) -> str:
    """Deliver one PENDING thank-you; returns the delivery's status afterwards."""
    with db.transaction() as session:
        delivery = _lock_delivery(session, delivery_id)
        if delivery is None:
            return "missing"
        if delivery["status"] != PENDING:
            return str(delivery["status"])
        reward = reward_details(session, int(delivery["reward_id"]))
        profile = _profile(session, delivery["fan_id"])
        if reward is None or reward["status"] == "REVERSED":
            _finish(session, delivery_id, status="CANCELLED", channel=None)
            return "CANCELLED"
        return _route(session, delivery, reward, profile, mail=mail, today=today)


def _route(
    session: Session,
    delivery: Mapping[str, Any],
    reward: Mapping[str, Any],
    profile: Mapping[str, Any] | None,
    *,
    mail: MailConfig,
    today: date,
) -> str:
    delivery_id = int(delivery["id"])
    channel = profile["thank_you_channel"] if profile else NONE
    fan_id = delivery["fan_id"]
    now = utcnow()
    if channel == PUBLIC_SHOUTOUT:
        name = (profile or {}).get("display_name") or ANONYMOUS_NAME
        session.execute(
            insert_ignoring_conflicts(session, wall_posts).values(
                reward_id=reward["id"],
                fan_id=fan_id,
                message=public_line(reward, name),
                created_at=now,
            )
        )
        return _finish(session, delivery_id, status="ON_WALL", channel=channel)
    if channel == HANDWRITTEN_NOTE:
        session.execute(
            insert_ignoring_conflicts(session, handwritten_notes).values(
                reward_id=reward["id"],
                fan_id=fan_id,
                message=private_line(reward),
                status="PENDING",
                created_at=now,
            )
        )
        return _finish(session, delivery_id, status="NOTE_QUEUED", channel=channel)
    if channel != PRIVATE_EMAIL:
        return _finish(session, delivery_id, status="SILENT", channel=NONE)
    return _send_private_email(session, delivery, reward, profile, mail=mail, today=today)


def _send_private_email(
    session: Session,
    delivery: Mapping[str, Any],
    reward: Mapping[str, Any],
    profile: Mapping[str, Any] | None,
    *,
    mail: MailConfig,
    today: date,
) -> str:
    """The day's one email if it is free, else a place in tomorrow's digest."""
    delivery_id = int(delivery["id"])
    fan_id = delivery["fan_id"]
    if not profile or not profile.get("email"):
        return _finish(session, delivery_id, status="NO_EMAIL", channel=PRIVATE_EMAIL)
    if not _claim_email_day(session, fan_id, today):
        session.execute(
            update(deliveries)
            .where(deliveries.c.id == delivery_id)
            .values(
                status=DIGEST_PENDING, channel=PRIVATE_EMAIL, digest_date=today + timedelta(days=1)
            )
        )
        return DIGEST_PENDING
    email = OutgoingEmail(
        to=str(profile["email"]),
        subject="Thank you from Fanfare",
        text=email_text(profile.get("display_name"), [private_line(reward)]),
    )
    try:
        mail.mailer.send(email, sender=mail.sender)
    except MailRejected as exc:
        _release_email_day(session, fan_id, today)
        return _finish(session, delivery_id, status="FAILED", channel=PRIVATE_EMAIL, error=str(exc))
    return _finish(session, delivery_id, status="SENT", channel=PRIVATE_EMAIL)


def record_delivery_failure(db: Database, *, delivery_id: int, error: str, attempts: int) -> None:
    """The last retry failed: mark the delivery FAILED so nobody waits on it."""
    with db.transaction() as session:
        session.execute(
            update(deliveries)
            .where(and_(deliveries.c.id == delivery_id, deliveries.c.status == PENDING))
            .values(status="FAILED", last_error=error[:2000], attempts=attempts)
        )


def fans_with_due_digests(session: Session, *, today: date) -> list[str]:
    rows = session.execute(
        select(deliveries.c.fan_id)
        .where(
            and_(
                deliveries.c.status == DIGEST_PENDING,
                deliveries.c.digest_date <= today,
                deliveries.c.fan_id.is_not(None),
            )
        )
        .distinct()
    )
    return [str(fan_id) for (fan_id,) in rows]


def send_digest(db: Database, *, fan_id: str, mail: MailConfig, today: date) -> int:
    """One email listing a fan's thank-yous that waited; returns how many it carried.

    It counts as the fan's one email of ``today``; if one went out already,
    the items wait one more day. A fan who left PRIVATE_EMAIL meanwhile gets
    each item through the new channel instead.
    """
    with db.transaction() as session:
        query = (
            select(deliveries)
            .where(
                and_(
                    deliveries.c.fan_id == fan_id,
                    deliveries.c.status == DIGEST_PENDING,
                    deliveries.c.digest_date <= today,
                )
            )
            .order_by(deliveries.c.id)
        )
        if is_postgresql(session):
            query = query.with_for_update(skip_locked=True)
        items = [dict(row) for row in session.execute(query).mappings()]
        if not items:
            return 0
        profile = _profile(session, fan_id)
        details = [reward_details(session, int(item["reward_id"])) for item in items]
        live = [
            (item, reward)
            for item, reward in zip(items, details, strict=True)
            if reward is not None and reward["status"] != "REVERSED"
        ]
        for item, reward in zip(items, details, strict=True):
            if reward is None or reward["status"] == "REVERSED":
                _finish(session, int(item["id"]), status="CANCELLED", channel=None)
        if not live:
            return 0
        if not profile or profile["thank_you_channel"] != PRIVATE_EMAIL or not profile["email"]:
            for item, reward in live:
                _route(
                    session, {**item, "status": PENDING}, reward, profile, mail=mail, today=today
                )
            return 0
        if not _claim_email_day(session, fan_id, today):
            return 0
        mail.mailer.send(
            OutgoingEmail(
                to=str(profile["email"]),
                subject=f"Your thank-yous from Fanfare ({len(live)})",
                text=email_text(profile["display_name"], [private_line(r) for _, r in live]),
            ),
            sender=mail.sender,
        )
        for item, _ in live:
            _finish(session, int(item["id"]), status="DIGESTED", channel=PRIVATE_EMAIL)
        return len(live)


def stale_pending_deliveries(session: Session, *, older_than: datetime) -> list[int]:
    rows = session.execute(
        select(deliveries.c.id)
        .where(and_(deliveries.c.status == PENDING, deliveries.c.created_at < older_than))
        .order_by(deliveries.c.id)
        .limit(1000)
    )
    return [int(delivery_id) for (delivery_id,) in rows]


def _lock_delivery(session: Session, delivery_id: int) -> dict[str, Any] | None:
    row = (
        session.execute(select(deliveries).where(deliveries.c.id == delivery_id).with_for_update())
        .mappings()
        .first()
    )
    return dict(row) if row is not None else None


def _profile(session: Session, fan_id: str | None) -> dict[str, Any] | None:
    if fan_id is None:
        return None
    row = (
        session.execute(select(fan_profiles).where(fan_profiles.c.fan_id == fan_id))
        .mappings()
        .first()
    )
    return dict(row) if row is not None else None


def _claim_email_day(session: Session, fan_id: str, today: date) -> bool:
    claimed = session.execute(
        insert_ignoring_conflicts(session, email_days)
        .values(fan_id=fan_id, day=today, sent_at=utcnow())
        .returning(email_days.c.fan_id)
    ).first()
    return claimed is not None


def _release_email_day(session: Session, fan_id: str, today: date) -> None:
    session.execute(
        delete(email_days).where(and_(email_days.c.fan_id == fan_id, email_days.c.day == today))
    )


def _finish(
    session: Session,
    delivery_id: int,
    *,
    status: str,
    channel: str | None,
    error: str | None = None,
) -> str:
    session.execute(
        update(deliveries)
        .where(deliveries.c.id == delivery_id)
        .values(
            status=status,
            channel=channel,
            last_error=error,
            attempts=deliveries.c.attempts + 1,
            delivered_at=utcnow(),
        )
    )
    return status

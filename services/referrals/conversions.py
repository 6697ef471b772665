"""Conversions reported by partner sites: attribution, fraud checks, approval, reversal.

A conversion is idempotent per (partner, external id): the first report is
stored with its outcome, and every repeat returns that same conversion. It is
attributed by click id first, else by referral code, within the attribution
window. Then the fraud checks run; each one that fires leaves its code and
reason on the conversion. Certain fraud (self-referral, a repeat customer, no
attribution) is REJECTED; suspicion (too many conversions from one network in a
day, no human click behind it) is held PENDING for a marketer's review. A clean
conversion is APPROVED at once or after ``CONVERSION_HOLD_DAYS``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from services.common.outbox import Outbox
from services.common.sql import dialect_insert, is_postgresql
from services.referrals.classify import VisitorKind
from services.referrals.errors import ConversionNotFound, ConversionNotPending
from services.referrals.models import clicks, conversions, referral_links
from services.referrals.privacy import customer_digest

# A partner's clock may run a little ahead of ours.
CLOCK_SKEW = timedelta(minutes=5)


class ConversionStatus(enum.StrEnum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    REVERSED = "REVERSED"


class Flag(enum.StrEnum):
    NOT_ATTRIBUTED = "NOT_ATTRIBUTED"
    SELF_REFERRAL = "SELF_REFERRAL"
    REPEAT_CUSTOMER = "REPEAT_CUSTOMER"
    IP_VELOCITY = "IP_VELOCITY"
    NO_HUMAN_CLICK = "NO_HUMAN_CLICK"


REJECTING_FLAGS = frozenset({Flag.NOT_ATTRIBUTED, Flag.SELF_REFERRAL, Flag.REPEAT_CUSTOMER})


@dataclass(frozen=True)
class ConversionPolicy:
    attribution_window: timedelta
    hold: timedelta
    max_per_ip_per_day: int
    require_human_click: bool


@dataclass(frozen=True)
class ConversionRecord:
    id: int
    partner_id: str
    external_id: str
    status: ConversionStatus
    flags: list[str]
    reason: str | None
    link_id: int | None
    click_id: str | None
    fan_id: str | None
    pack_id: str | None
    amount_cents: int | None
    currency: str | None
    occurred_at: datetime
    created_at: datetime
    approve_after: datetime | None
    approved_at: datetime | None
    reversed_at: datetime | None
    reversal_reason: str | None

    @classmethod
    def from_row(cls, row: Any) -> ConversionRecord:
        return cls(
            id=row.id,
            partner_id=row.partner_id,
            external_id=row.external_id,
            status=ConversionStatus(row.status),
            flags=list(row.flags or []),
            reason=row.reason,
            link_id=row.link_id,
            click_id=row.click_id,
            fan_id=row.fan_id,
            pack_id=row.pack_id,
            amount_cents=row.amount_cents,
            currency=row.currency,
            occurred_at=row.occurred_at,
            created_at=row.created_at,
            approve_after=row.approve_after,
            approved_at=row.approved_at,
            reversed_at=row.reversed_at,
            reversal_reason=row.reversal_reason,
        )


@dataclass
class _Attribution:
    link: Any = None  # referral_links row
    click: Any = None  # clicks row, when attributed by click id
    human_behind: bool = False


def record_conversion(
    session: Session,
    outbox: Outbox | None,
    policy: ConversionPolicy,
    *,
    partner_id: str,
    external_id: str,
    referral_code: str | None,
    click_id: str | None,
    amount_cents: int | None,
    currency: str | None,
    customer_ref: str | None,
    occurred_at: datetime,
    now: datetime,
) -> tuple[ConversionRecord, bool]:
    """Store a partner's conversion once; True if this call created it."""
    existing = _find(session, partner_id, external_id)
    if existing is not None:
        return existing, False

    customer_hash = customer_digest(customer_ref) if customer_ref else None
    attribution = _attribute(session, policy, referral_code, click_id, occurred_at)
    flags, reasons = _fraud_checks(session, policy, attribution, customer_hash, occurred_at)
    status, approve_after = _decide(flags, policy, now)

    link = attribution.link
    values = {
        "partner_id": partner_id,
        "external_id": external_id,
        "link_id": link.id if link is not None else None,
        "click_id": attribution.click.click_id if attribution.click is not None else None,
        "fan_id": link.fan_id if link is not None else None,
        "pack_id": link.pack_id if link is not None else None,
        "amount_cents": amount_cents,
        "currency": currency,
        "customer_hash": customer_hash,
        "ip_hash": attribution.click.ip_hash if attribution.click is not None else None,
        "status": status.value,
        "flags": [flag.value for flag in flags],
        "reason": "; ".join(reasons) or None,
        "occurred_at": occurred_at,
        "created_at": now,
        "approve_after": approve_after,
        "approved_at": now if status is ConversionStatus.APPROVED else None,
    }
    inserted = session.execute(
        dialect_insert(session, conversions)
        .values(**values)
        .on_conflict_do_nothing(
            index_elements=[conversions.c.partner_id, conversions.c.external_id]
        )
        .returning(conversions.c.id)
    ).first()
    if inserted is None:
        # A concurrent report of the same conversion won: return what it stored.
        winner = _find(session, partner_id, external_id)
        assert winner is not None
        return winner, False
    record = _get(session, inserted.id)
    if record.status is ConversionStatus.APPROVED:
        _announce_approval(outbox, session, record)
    return record, True


def _find(session: Session, partner_id: str, external_id: str) -> ConversionRecord | None:
    row = session.execute(
        select(conversions).where(
            conversions.c.partner_id == partner_id, conversions.c.external_id == external_id
        )
    ).first()
    return ConversionRecord.from_row(row) if row else None


def _get(session: Session, conversion_id: int) -> ConversionRecord:
    row = session.execute(select(conversions).where(conversions.c.id == conversion_id)).first()
    if row is None:
        raise ConversionNotFound(f"No conversion has the id {conversion_id}.")
    return ConversionRecord.from_row(row)


def _lock_link(session: Session, link_id: int) -> Any:
    # Conversions for one link are checked one at a time, so two reports of the same
    # customer racing each other cannot both pass the repeat-customer check.
    query = select(referral_links).where(referral_links.c.id == link_id)
    if is_postgresql(session):
        query = query.with_for_update()
    return session.execute(query).first()


def _attribute(
    session: Session,
    policy: ConversionPolicy,
    referral_code: str | None,
    click_id: str | None,
    occurred_at: datetime,
) -> _Attribution:
    window_start = occurred_at - policy.attribution_window
    if click_id:
        click = session.execute(select(clicks).where(clicks.c.click_id == click_id)).first()
        if click is not None:
            if not window_start <= click.occurred_at <= occurred_at + CLOCK_SKEW:
                # A click outside the window attributes nothing, and the code is not
                # a way around the window.
                return _Attribution()
            return _Attribution(
                link=_lock_link(session, click.link_id),
                click=click,
                human_behind=click.kind == VisitorKind.HUMAN.value,
            )
    if referral_code:
        link = session.execute(
            select(referral_links.c.id).where(referral_links.c.code == referral_code)
        ).first()
        if link is not None:
            human_clicks = session.scalar(
                select(func.count())
                .select_from(clicks)
                .where(
                    clicks.c.link_id == link.id,
                    clicks.c.kind == VisitorKind.HUMAN.value,
                    clicks.c.occurred_at >= window_start,
                    clicks.c.occurred_at <= occurred_at + CLOCK_SKEW,
                )
            )
            return _Attribution(link=_lock_link(session, link.id), human_behind=bool(human_clicks))
    return _Attribution()


def _fraud_checks(
    session: Session,
    policy: ConversionPolicy,
    attribution: _Attribution,
    customer_hash: str | None,
    occurred_at: datetime,
) -> tuple[list[Flag], list[str]]:
    link = attribution.link
    if link is None:
        return [Flag.NOT_ATTRIBUTED], [
            "no click id or referral code matched a click or link within the "
            f"{policy.attribution_window.days}-day attribution window"
        ]
    flags: list[Flag] = []
    reasons: list[str] = []
    if customer_hash is not None and link.fan_ref is not None and customer_hash == link.fan_ref:
        flags.append(Flag.SELF_REFERRAL)
        reasons.append("the customer is the fan who owns the link")
    if customer_hash is not None and link.fan_id is not None:
        earlier = session.scalar(
            select(func.count())
            .select_from(conversions)
            .where(
                conversions.c.fan_id == link.fan_id,
                conversions.c.customer_hash == customer_hash,
                conversions.c.status != ConversionStatus.REJECTED.value,
            )
        )
        if earlier:
            flags.append(Flag.REPEAT_CUSTOMER)
            reasons.append("this customer already converted for this fan")
    click = attribution.click
    if click is not None and click.ip_hash is not None:
        same_network = session.scalar(
            select(func.count())
            .select_from(conversions)
            .where(
                conversions.c.ip_hash == click.ip_hash,
                conversions.c.occurred_at > occurred_at - timedelta(days=1),
            )
        )
        if (same_network or 0) >= policy.max_per_ip_per_day:
            flags.append(Flag.IP_VELOCITY)
            reasons.append(
                f"more than {policy.max_per_ip_per_day} conversions from one IP address in a day"
            )
    if policy.require_human_click and not attribution.human_behind:
        flags.append(Flag.NO_HUMAN_CLICK)
        reasons.append("no human click stands behind this conversion")
    return flags, reasons


def _decide(
    flags: list[Flag], policy: ConversionPolicy, now: datetime
) -> tuple[ConversionStatus, datetime | None]:
    if any(flag in REJECTING_FLAGS for flag in flags):
        return ConversionStatus.REJECTED, None
    if flags:
        return ConversionStatus.PENDING, None  # for a marketer's review
    if policy.hold > timedelta(0):
        return ConversionStatus.PENDING, now + policy.hold
    return ConversionStatus.APPROVED, None


def _announce_approval(outbox: Outbox | None, session: Session, record: ConversionRecord) -> None:
    if outbox is None or record.fan_id is None:
        return  # an erased fan's link credits nobody
    outbox.add(
        session,
        "referrals.conversion_approved",
        {
            "conversion_id": str(record.id),
            "external_id": record.external_id,
            "partner_id": record.partner_id,
            "fan_id": record.fan_id,
            "link_id": str(record.link_id) if record.link_id is not None else None,
            "pack_id": record.pack_id,
            "amount_cents": record.amount_cents,
            "currency": record.currency,
        },
    )


def _approve(
    session: Session, outbox: Outbox | None, conversion_id: int, now: datetime
) -> ConversionRecord | None:
    """PENDING -> APPROVED, atomically; None if it was no longer pending."""
    moved = session.execute(
        update(conversions)
        .where(
            conversions.c.id == conversion_id,
            conversions.c.status == ConversionStatus.PENDING.value,
        )
        .values(status=ConversionStatus.APPROVED.value, approved_at=now)
        .returning(conversions.c.id)
    ).first()
    if moved is None:
        return None
    record = _get(session, conversion_id)
    _announce_approval(outbox, session, record)
    return record


def release_held_conversions(
    session: Session, outbox: Outbox | None, *, now: datetime, limit: int = 500
) -> int:
    """Approve clean conversions whose holding period is over; returns how many."""
    query = (
        select(conversions.c.id)
        .where(
            conversions.c.status == ConversionStatus.PENDING.value,
            conversions.c.approve_after.is_not(None),
            conversions.c.approve_after <= now,
        )
        .order_by(conversions.c.id)
        .limit(limit)
    )
    if is_postgresql(session):
        query = query.with_for_update(skip_locked=True)
    released = 0
    for conversion_id in session.scalars(query).all():
        if _approve(session, outbox, conversion_id, now) is not None:
            released += 1
    return released


def review_conversion(
    session: Session,
    outbox: Outbox | None,
    *,
    conversion_id: int,
    approve: bool,
    note: str | None,
    now: datetime,
) -> ConversionRecord:
    """A marketer's verdict on a PENDING conversion."""
    record = _get(session, conversion_id)
    if record.status is not ConversionStatus.PENDING:
        raise ConversionNotPending(
            f"Conversion {conversion_id} is {record.status.value}; only PENDING ones are reviewed."
        )
    if approve:
        approved = _approve(session, outbox, conversion_id, now)
        if approved is None:
            raise ConversionNotPending(f"Conversion {conversion_id} was decided meanwhile.")
        return approved
    moved = session.execute(
        update(conversions)
        .where(
            conversions.c.id == conversion_id,
            conversions.c.status == ConversionStatus.PENDING.value,
        )
        .values(
            status=ConversionStatus.REJECTED.value,
            reason=_joined(record.reason, f"rejected on review: {note or 'no note'}"),
        )
        .returning(conversions.c.id)
    ).first()
    if moved is None:
        raise ConversionNotPending(f"Conversion {conversion_id} was decided meanwhile.")
    return _get(session, conversion_id)


def reverse_conversion(
    session: Session,
    outbox: Outbox | None,
    *,
    partner_id: str,
    external_id: str,
    reason: str | None,
    now: datetime,
) -> ConversionRecord:
    """A refund: APPROVED (or still PENDING) becomes REVERSED; repeats change nothing."""
    record = _find(session, partner_id, external_id)
    if record is None:
        raise ConversionNotFound(
            f"You reported no conversion with the external id {external_id!r}."
        )
    if record.status not in (ConversionStatus.APPROVED, ConversionStatus.PENDING):
        return record
    moved = session.execute(
        update(conversions)
        .where(conversions.c.id == record.id, conversions.c.status == record.status.value)
        .values(
            status=ConversionStatus.REVERSED.value,
            reversed_at=now,
            reversal_reason=reason,
            approve_after=None,
        )
        .returning(conversions.c.id)
    ).first()
    if moved is None:
        # Approved or reversed by someone else meanwhile: decide again from the new state.
        return reverse_conversion(
            session, outbox, partner_id=partner_id, external_id=external_id, reason=reason, now=now
        )
    # Only an approval reached rewards; a pending conversion is withdrawn silently.
    if record.status is ConversionStatus.APPROVED and outbox is not None and record.fan_id:
        outbox.add(
            session,
            "referrals.conversion_reversed",
            {
                "conversion_id": str(record.id),
                "external_id": record.external_id,
                "partner_id": record.partner_id,
                "fan_id": record.fan_id,
                "pack_id": record.pack_id,
                "reason": reason,
            },
        )
    return _get(session, record.id)


def conversions_by_ids(session: Session, ids: list[int]) -> list[ConversionRecord]:
    rows = session.execute(select(conversions).where(conversions.c.id.in_(ids))).all()
    return [ConversionRecord.from_row(row) for row in rows]


def _joined(first: str | None, second: str) -> str:
    return f"{first}; {second}" if first else second

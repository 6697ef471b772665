"""A plain points reward written in one statement on PostgreSQL.

The reward row, its two ledger entries, the fan account's new balance and the
thank-you's delivery row go in one ``INSERT ... ON CONFLICT DO NOTHING``
chained through data-modifying CTEs: one round trip instead of four. Every
part hangs off the reward row's CTE, so when (rule, event) was rewarded
before, nothing at all is written. SQLite has no data-modifying CTEs; it
takes the statement-per-table path in :mod:`services.rewards.issuance`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer, String, literal, select, true, union_all
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from services.rewards.models import accounts, deliveries, ledger_entries, rewards


@dataclass(frozen=True)
class PointsIssued:
    reward_id: int
    delivery_id: int
    lifetime_points: int
    tier: str


def issue_points_in_one_statement(
    session: Session,
    *,
    reward_values: dict[str, Any],
    fan_account_id: int,
    program_account_id: int,
    points: int,
    delivery_status: str,
    delivery_channel: str | None,
    now: datetime,
) -> PointsIssued | None:
    """Write the reward and all that follows from it; None if (rule, event) had its reward."""
    reward = (
        postgresql.insert(rewards)
        .values(**reward_values)
        .on_conflict_do_nothing()
        .returning(rewards.c.id)
        .cte("reward")
    )
    journal_id = literal(str(uuid.uuid4()), String(36))
    moment = literal(now, DateTime(timezone=True))
    entries = union_all(
        select(reward.c.id, literal(fan_account_id, BigInteger), literal(points, BigInteger)),
        select(reward.c.id, literal(program_account_id, BigInteger), literal(-points, BigInteger)),
    ).subquery("entry")
    ledger = (
        postgresql.insert(ledger_entries)
        .from_select(
            ["reward_id", "account_id", "amount", "journal_id", "kind", "created_at"],
            select(
                entries.c[0],
                entries.c[1],
                entries.c[2],
                journal_id,
                literal("GRANT", String(20)),
                moment,
            ),
        )
        .cte("ledger")
    )
    account = (
        accounts.update()
        .where(accounts.c.id == fan_account_id)
        .where(select(reward.c.id).exists())
        .values(
            balance=accounts.c.balance + points,
            lifetime_points=accounts.c.lifetime_points + points,
            updated_at=now,
        )
        .returning(accounts.c.lifetime_points, accounts.c.tier)
        .cte("account")
    )
    delivered_at = now if delivery_status == "SILENT" else None
    delivery = (
        postgresql.insert(deliveries)
        .from_select(
            ["reward_id", "fan_id", "channel", "status", "attempts", "created_at", "delivered_at"],
            select(
                reward.c.id,
                literal(reward_values["fan_id"], String(64)),
                literal(delivery_channel, String(20)),
                literal(delivery_status, String(20)),
                literal(0, Integer),
                moment,
                literal(delivered_at, DateTime(timezone=True)),
            ),
        )
        .returning(deliveries.c.id)
        .cte("delivery")
    )
    row = session.execute(
        select(
            reward.c.id,
            delivery.c.id.label("delivery_id"),
            account.c.lifetime_points,
            account.c.tier,
        )
        .select_from(reward)
        .join(delivery, true())
        .join(account, true())
        .add_cte(ledger)
    ).first()
    if row is None:
        return None
    return PointsIssued(
        reward_id=int(row.id),
        delivery_id=int(row.delivery_id),
        lifetime_points=int(row.lifetime_points),
        tier=str(row.tier),
    )

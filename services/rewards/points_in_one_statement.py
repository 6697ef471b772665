"""A plain points reward written in one statement on PostgreSQL.

The reward row, its two ledger entries, the fan account's new balance and the
thank-you's delivery row go in one ``INSERT ... ON CONFLICT DO NOTHING``
chained through data-modifying CTEs: one round trip instead of four. Every
part hangs off the reward row's CTE, so when (rule, event) was rewarded
before, nothing at all is written. SQLite has no data-modifying CTEs; it
takes the statement-per-table path in :mod:`services.rewards.issuance`.

The statement is built once, with bound parameters, and executed with each
reward's values: building it anew for every event (and computing its cache
key) cost more CPU than the database spent running it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Integer,
    String,
    bindparam,
    select,
    true,
    union_all,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from services.common.utc_time import UtcDateTime
from services.rewards.models import accounts, deliveries, ledger_entries, rewards

# The reward row's columns, each filled from a parameter named "reward_<column>".
REWARD_COLUMNS = (
    "rule_id",
    "event_id",
    "event_type",
    "fan_id",
    "account_id",
    "kind",
    "points",
    "badge_code",
    "amount_cents",
    "currency",
    "pack_id",
    "conversion_id",
    "status",
    "occurred_at",
    "created_at",
)


@dataclass(frozen=True)
class PointsIssued:
    reward_id: int
    delivery_id: int
    lifetime_points: int
    tier: str


def _build_statement() -> Any:
    reward = (
        postgresql.insert(rewards)
        .values(
            {
                column: bindparam(f"reward_{column}", type_=rewards.c[column].type)
                for column in REWARD_COLUMNS
            }
        )
        .on_conflict_do_nothing()
        .returning(rewards.c.id)
        .cte("reward")
    )
    points = bindparam("points", type_=BigInteger)
    negative_points = bindparam("negative_points", type_=BigInteger)
    moment = bindparam("now", type_=UtcDateTime())
    fan_account_id = bindparam("fan_account_id", type_=BigInteger)
    entries = union_all(
        select(reward.c.id, fan_account_id, points),
        select(reward.c.id, bindparam("program_account_id", type_=BigInteger), negative_points),
    ).subquery("entry")
    ledger = (
        postgresql.insert(ledger_entries)
        .from_select(
            ["reward_id", "account_id", "amount", "journal_id", "kind", "created_at"],
            select(
                entries.c[0],
                entries.c[1],
                entries.c[2],
                bindparam("journal_id", type_=String(36)),
                bindparam("entry_kind", type_=String(20)),
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
            updated_at=moment,
        )
        .returning(accounts.c.lifetime_points, accounts.c.tier)
        .cte("account")
    )
    delivery = (
        postgresql.insert(deliveries)
        .from_select(
            ["reward_id", "fan_id", "channel", "status", "attempts", "created_at", "delivered_at"],
            select(
                reward.c.id,
                bindparam("delivery_fan_id", type_=String(64)),
                bindparam("delivery_channel", type_=String(20)),
                bindparam("delivery_status", type_=String(20)),
                bindparam("delivery_attempts", type_=Integer),
                moment,
                bindparam("delivered_at", type_=UtcDateTime()),
            ),
        )
        .returning(deliveries.c.id)
        .cte("delivery")
    )
    return (
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
    )


# Built once per process; SQLAlchemy memoizes its cache key, so each execution
# finds the compiled SQL at once.
ISSUE_POINTS = _build_statement()


def points_parameters(
    *,
    reward_values: dict[str, Any],
    fan_account_id: int,
    program_account_id: int,
    points: int,
    delivery_status: str,
    delivery_channel: str | None,
    now: datetime,
) -> dict[str, Any]:
    """The parameters of ``ISSUE_POINTS`` for one reward."""
    parameters = {f"reward_{column}": reward_values[column] for column in REWARD_COLUMNS}
    parameters.update(
        points=points,
        negative_points=-points,
        now=now,
        fan_account_id=fan_account_id,
        program_account_id=program_account_id,
        journal_id=str(uuid.uuid4()),
        entry_kind="GRANT",
        delivery_fan_id=reward_values["fan_id"],
        delivery_channel=delivery_channel,
        delivery_status=delivery_status,
        delivery_attempts=0,
        delivered_at=now if delivery_status == "SILENT" else None,
    )
    return parameters


def issue_points_in_one_statement(
    session: Session, parameters: dict[str, Any]
) -> PointsIssued | None:
    """Write the reward and all that follows from it; None if (rule, event) had its reward."""
    row = session.execute(ISSUE_POINTS, parameters).first()
    if row is None:
        return None
    return PointsIssued(
        reward_id=int(row.id),
        delivery_id=int(row.delivery_id),
        lifetime_points=int(row.lifetime_points),
        tier=str(row.tier),
    )

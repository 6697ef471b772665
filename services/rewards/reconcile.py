"""Does the ledger balance? Credits equal debits, and cached balances equal the entries."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from services.rewards.ledger import LIFETIME_KINDS
from services.rewards.models import accounts, ledger_entries

MAX_LISTED = 100


@dataclass
class ReconciliationReport:
    entries: int = 0
    total: int = 0
    unbalanced_journals: list[dict[str, Any]] = field(default_factory=list)
    mismatched_accounts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.total == 0 and not self.unbalanced_journals and not self.mismatched_accounts


def reconcile_ledger(session: Session) -> ReconciliationReport:
    """Check the whole ledger (reads only)."""
    entries, total = session.execute(
        select(func.count(), func.coalesce(func.sum(ledger_entries.c.amount), 0))
    ).one()
    journal_sum = func.sum(ledger_entries.c.amount)
    unbalanced = session.execute(
        select(ledger_entries.c.journal_id, journal_sum)
        .group_by(ledger_entries.c.journal_id)
        .having(journal_sum != 0)
        .limit(MAX_LISTED)
    ).all()
    entry_balance = func.coalesce(func.sum(ledger_entries.c.amount), 0)
    entry_lifetime = func.coalesce(
        func.sum(
            case((ledger_entries.c.kind.in_(LIFETIME_KINDS), ledger_entries.c.amount), else_=0)
        ),
        0,
    )
    per_account = (
        select(
            accounts.c.id,
            accounts.c.balance,
            accounts.c.lifetime_points,
            entry_balance.label("ledger_balance"),
            entry_lifetime.label("ledger_lifetime"),
        )
        .outerjoin(ledger_entries, ledger_entries.c.account_id == accounts.c.id)
        .where(accounts.c.kind == "FAN")
        .group_by(accounts.c.id, accounts.c.balance, accounts.c.lifetime_points)
        .having(
            (entry_balance != accounts.c.balance) | (entry_lifetime != accounts.c.lifetime_points)
        )
        .limit(MAX_LISTED)
    )
    return ReconciliationReport(
        entries=int(entries),
        total=int(total),
        unbalanced_journals=[{"journal_id": j, "sum": int(s)} for j, s in unbalanced],
        mismatched_accounts=[
            {key: int(value) if value is not None else None for key, value in row.items()}
            for row in session.execute(per_account).mappings()
        ],
    )

"""The append-only, double-entry points ledger.

Every journal is two entries that sum to zero: the fan's account on one side,
a program account on the other. Entries are never updated or deleted; a
reversal is a new journal pointing at the entries it cancels. A fan account
caches its balance and lifetime points, updated with atomic arithmetic in the
same transaction as the entries.
"""

from __future__ import annotations

import threading
import uuid
import weakref
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from services.common.sql import insert_ignoring_conflicts
from services.common.utc_time import utcnow
from services.rewards.models import accounts, ledger_entries
from services.rewards.sql import run_after_commit

# Program accounts: where points come from, and where redeemed points go.
POINTS_ISSUED = "program:points_issued"
POINTS_REDEEMED = "program:points_redeemed"

GRANT = "GRANT"
REDEMPTION = "REDEMPTION"
REVERSAL = "REVERSAL"
# Entry kinds that count toward a fan's lifetime points (redemptions do not).
LIFETIME_KINDS = (GRANT, REVERSAL)


@dataclass(frozen=True)
class FanAccount:
    id: int
    fan_id: str | None
    balance: int
    lifetime_points: int
    tier: str


def ensure_fan_account(session: Session, fan_id: str) -> int:
    """The id of ``fan_id``'s account, opened on first use."""
    found = session.scalar(select(accounts.c.id).where(accounts.c.fan_id == fan_id))
    if found is not None:
        return int(found)
    return open_fan_account(session, fan_id)


def open_fan_account(session: Session, fan_id: str) -> int:
    """Open ``fan_id``'s account, or find the one a concurrent transaction just opened."""
    now = utcnow()
    opened = session.execute(
        insert_ignoring_conflicts(session, accounts)
        .values(
            kind="FAN",
            fan_id=fan_id,
            balance=0,
            lifetime_points=0,
            tier="FAN",
            created_at=now,
            updated_at=now,
        )
        .returning(accounts.c.id)
    ).first()
    if opened is not None:
        return int(opened.id)
    return int(session.scalar(select(accounts.c.id).where(accounts.c.fan_id == fan_id)) or 0)


# Program accounts are opened once and never change: their ids are cached per
# database (engine), so posting a journal does not look them up every time.
_program_ids: weakref.WeakKeyDictionary[Engine, dict[str, int]] = weakref.WeakKeyDictionary()
_program_ids_lock = threading.Lock()


def program_account_id(session: Session, code: str) -> int:
    """The id of a program account, opened on first use."""
    engine = session.get_bind()
    cache = _program_ids.get(engine) if isinstance(engine, Engine) else None
    if cache is not None and code in cache:
        return cache[code]
    account_id = _find_or_open_program_account(session, code)
    if isinstance(engine, Engine):
        # Only once committed: an account opened by a transaction that rolls
        # back must not be remembered.
        run_after_commit(session, lambda: _remember(engine, code, account_id))
    return account_id


def _remember(engine: Engine, code: str, account_id: int) -> None:
    with _program_ids_lock:
        _program_ids.setdefault(engine, {})[code] = account_id


def _find_or_open_program_account(session: Session, code: str) -> int:
    found = session.scalar(select(accounts.c.id).where(accounts.c.code == code))
    if found is not None:
        return int(found)
    now = utcnow()
    session.execute(
        insert_ignoring_conflicts(session, accounts).values(
            kind="PROGRAM", code=code, created_at=now, updated_at=now
        )
    )
    return int(session.scalar(select(accounts.c.id).where(accounts.c.code == code)) or 0)


def read_fan_account(session: Session, account_id: int, *, lock: bool = False) -> FanAccount:
    query = select(accounts).where(accounts.c.id == account_id)
    if lock:
        query = query.with_for_update()
    row = session.execute(query).mappings().one()
    return _fan_account(row)


def _fan_account(row: object) -> FanAccount:
    mapping = dict(row)  # type: ignore[call-overload]
    return FanAccount(
        id=int(mapping["id"]),
        fan_id=mapping["fan_id"],
        balance=int(mapping["balance"] or 0),
        lifetime_points=int(mapping["lifetime_points"] or 0),
        tier=str(mapping["tier"] or "FAN"),
    )


def post_journal(
    session: Session,
    *,
    fan_account_id: int,
    program_code: str,
    amount: int,
    kind: str,
    reward_id: int | None = None,
    redemption_id: int | None = None,
    reverses: tuple[int, int] | None = None,
    at: datetime | None = None,
) -> FanAccount:
    """Move ``amount`` points onto the fan's account (negative: off it) against a program account.

    ``reverses`` names the (fan entry, program entry) pair this journal cancels.
    Returns the fan's account after the move.
    """
    journal_id = str(uuid.uuid4())
    moment = at or utcnow()
    program_id = program_account_id(session, program_code)
    fan_reverses, program_reverses = reverses if reverses else (None, None)
    common = {
        "journal_id": journal_id,
        "kind": kind,
        "reward_id": reward_id,
        "redemption_id": redemption_id,
        "created_at": moment,
    }
    session.execute(
        insert(ledger_entries),
        [
            {
                **common,
                "account_id": fan_account_id,
                "amount": amount,
                "reverses_entry_id": fan_reverses,
            },
            {
                **common,
                "account_id": program_id,
                "amount": -amount,
                "reverses_entry_id": program_reverses,
            },
        ],
    )
    lifetime_delta = amount if kind in LIFETIME_KINDS else 0
    row = (
        session.execute(
            update(accounts)
            .where(accounts.c.id == fan_account_id)
            .values(
                balance=accounts.c.balance + amount,
                lifetime_points=accounts.c.lifetime_points + lifetime_delta,
                updated_at=moment,
            )
            .returning(*accounts.c)
        )
        .mappings()
        .one()
    )
    return _fan_account(row)


def withdraw_points(session: Session, *, fan_account_id: int, amount: int) -> bool:
    """Take ``amount`` off the cached balance only if it covers it; False if it does not.

    A conditional UPDATE locks the row and re-checks the balance after any
    concurrent writer commits, so parallel redemptions can never overdraw.
    """
    row = session.execute(
        update(accounts)
        .where(and_(accounts.c.id == fan_account_id, accounts.c.balance >= amount))
        .values(balance=accounts.c.balance - amount, updated_at=utcnow())
        .returning(accounts.c.id)
    ).first()
    return row is not None


def record_withdrawal(
    session: Session, *, fan_account_id: int, amount: int, redemption_id: int
) -> None:
    """The ledger side of :func:`withdraw_points` (the balance was already taken)."""
    journal_id = str(uuid.uuid4())
    moment = utcnow()
    program_id = program_account_id(session, POINTS_REDEEMED)
    common = {
        "journal_id": journal_id,
        "kind": REDEMPTION,
        "redemption_id": redemption_id,
        "created_at": moment,
    }
    session.execute(
        insert(ledger_entries),
        [
            {**common, "account_id": fan_account_id, "amount": -amount},
            {**common, "account_id": program_id, "amount": amount},
        ],
    )

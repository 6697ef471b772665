"""Code banks: discount codes marketers upload, each handed out at most once."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, String, and_, bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common.outbox import Outbox
from services.common.sql import dialect_insert, insert_ignoring_conflicts, is_postgresql
from services.common.utc_time import utcnow
from services.rewards.errors import Conflict, InvalidInput, NotFound
from services.rewards.models import bank_codes, code_banks

CODE_BANK_LOW = "rewards.code_bank_low"
MAX_CODE_LENGTH = 200
MAX_ROWS_PER_UPLOAD = 100_000
# Rows per INSERT on SQLite: 3 bound values a row stays far below its 32,766
# parameters per statement.
INSERT_CHUNK_ROWS = 1_000
_WHITESPACE = re.compile(r"\s")
IN_BANK_ALREADY = "this code is in the bank already"
REPEATED_IN_FILE = "the code appears earlier in this file"


@dataclass(frozen=True)
class ClaimedCode:
    id: int
    code: str


@dataclass
class UploadReport:
    accepted: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)


def create_code_bank(session: Session, *, name: str, low_stock_threshold: int) -> dict[str, Any]:
    """Open an empty code bank."""
    try:
        with session.begin_nested():
            bank_id = session.execute(
                insert(code_banks)
                .values(
                    name=name,
                    low_stock_threshold=low_stock_threshold,
                    low_stock_alerted=False,
                    created_at=utcnow(),
                )
                .returning(code_banks.c.id)
            ).scalar_one()
    except IntegrityError as exc:
        raise Conflict(
            f"A code bank named {name!r} exists already; pick another name.",
            code="NAME_TAKEN",
        ) from exc
    return get_code_bank(session, bank_id=int(bank_id))


def get_code_bank(session: Session, *, bank_id: int) -> dict[str, Any]:
    """A bank with its counts of codes left and handed out."""
    row = session.execute(select(code_banks).where(code_banks.c.id == bank_id)).mappings().first()
    if row is None:
        raise NotFound(f"No code bank has id {bank_id}.")
    return {**row, **_counts(session, bank_id)}


def list_code_banks(session: Session) -> list[dict[str, Any]]:
    rows = session.execute(select(code_banks).order_by(code_banks.c.id)).mappings().all()
    return [{**row, **_counts(session, int(row["id"]))} for row in rows]


def _counts(session: Session, bank_id: int) -> dict[str, int]:
    total, remaining = session.execute(
        select(
            func.count(),
            func.count().filter(bank_codes.c.claimed_at.is_(None)),
        ).where(bank_codes.c.bank_id == bank_id)
    ).one()
    return {"remaining": int(remaining or 0), "handed_out": int(total or 0) - int(remaining or 0)}


def upload_codes(session: Session, *, bank_id: int, csv_text: str) -> UploadReport:
    """Add the codes of a CSV (one code per row, optional ``code`` header); report bad rows.

    Good rows go in even when others are bad: each bad row is named with its
    line number and what to fix, so the marketer can upload just those again.
    Every row is checked in Python first; the good ones then go in with a few
    multi-row ``INSERT ... ON CONFLICT DO NOTHING RETURNING code`` statements
    (one statement per row cost 1 to 3 ms, too slow for a file of thousands
    within the gateway's backend timeout).
    """
    get_code_bank(session, bank_id=bank_id)
    rows = list(csv.reader(io.StringIO(csv_text)))
    if len(rows) > MAX_ROWS_PER_UPLOAD:
        raise InvalidInput(
            f"A file may hold at most {MAX_ROWS_PER_UPLOAD} codes; split it.",
            details={"rows": len(rows)},
        )
    rejected: list[dict[str, Any]] = []
    first_lines: dict[str, int] = {}  # each good code's first line; dicts keep file order
    repeats: list[tuple[int, str]] = []
    for line, row in enumerate(rows, start=1):
        cells = [cell.strip() for cell in row]
        if line == 1 and cells and cells[0].lower() == "code":
            continue
        code = cells[0] if cells else ""
        problem = _row_problem(cells)
        if problem is not None:
            rejected.append({"line": line, "code": code[:MAX_CODE_LENGTH], "error": problem})
        elif code in first_lines:
            repeats.append((line, code))
        else:
            first_lines[code] = line
    inserted = _insert_new_codes(session, bank_id=bank_id, codes=list(first_lines))
    for code, line in first_lines.items():
        if code not in inserted:
            rejected.append({"line": line, "code": code, "error": IN_BANK_ALREADY})
    for line, code in repeats:
        # A repeat of a code that was in the bank already is that, not a repeat in the file:
        # only a code this file put in counts as "earlier in this file".
        error = REPEATED_IN_FILE if code in inserted else IN_BANK_ALREADY
        rejected.append({"line": line, "code": code, "error": error})
    rejected.sort(key=lambda entry: int(entry["line"]))
    _rearm_low_stock_alert(session, bank_id)
    return UploadReport(accepted=len(inserted), rejected=rejected)


def _insert_new_codes(session: Session, *, bank_id: int, codes: list[str]) -> set[str]:
    """Insert the codes the bank lacks; return those that went in.

    The unique key (bank_id, code) decides, so two uploads at once never store
    a code twice and each learns exactly which codes were its own.
    """
    if not codes:
        return set()
    now = utcnow()
    if is_postgresql(session):
        return _insert_from_array(session, bank_id=bank_id, codes=codes, now=now)
    # SQLAlchemy's "insertmanyvalues" sends one statement with many parameter sets
    # as multi-row INSERT ... VALUES (...), (...) ... RETURNING, compiled once.
    statement = (
        insert_ignoring_conflicts(session, bank_codes)
        .returning(bank_codes.c.code)
        .execution_options(insertmanyvalues_page_size=INSERT_CHUNK_ROWS)
    )
    rows = session.execute(
        statement, [{"bank_id": bank_id, "code": code, "created_at": now} for code in codes]
    )
    return {str(code) for code in rows.scalars()}


def _insert_from_array(
    session: Session, *, bank_id: int, codes: list[str], now: datetime
) -> set[str]:
    """PostgreSQL: ``INSERT ... SELECT unnest(:codes) ON CONFLICT DO NOTHING RETURNING code``.

    One statement with three parameters whatever the number of codes: thousands
    of bound values cost psycopg more to place than the server takes to insert.
    """
    source = select(
        bindparam("bank_id", bank_id, type_=BigInteger),
        func.unnest(bindparam("codes", codes, type_=ARRAY(String(MAX_CODE_LENGTH)))),
        bindparam("created_at", now, type_=bank_codes.c.created_at.type),
    )
    statement = (
        dialect_insert(session, bank_codes)
        .from_select(["bank_id", "code", "created_at"], source)
        .on_conflict_do_nothing()
        .returning(bank_codes.c.code)
    )
    return {str(code) for code in session.scalars(statement)}


def preview_codes(session: Session, *, bank_id: int, csv_text: str) -> UploadReport:
    """What :func:`upload_codes` would accept and reject, with nothing written.

    The real upload runs inside a savepoint that is rolled back, so the preview
    checks every row exactly as an upload does, duplicates in the bank included.
    """
    savepoint = session.begin_nested()
    try:
        return upload_codes(session, bank_id=bank_id, csv_text=csv_text)
    finally:
        savepoint.rollback()


def _row_problem(cells: list[str]) -> str | None:
    non_empty = [cell for cell in cells if cell]
    if not non_empty:
        return "the row is empty; put one code in the first column"
    if len(non_empty) > 1 or not cells[0]:
        return "the row has more than one value; put exactly one code per row"
    code = cells[0]
    if len(code) > MAX_CODE_LENGTH:
        return f"the code is longer than {MAX_CODE_LENGTH} characters"
    if not code.isprintable() or _WHITESPACE.search(code):
        return "the code contains spaces or control characters"
    return None


def _rearm_low_stock_alert(session: Session, bank_id: int) -> None:
    remaining = _counts(session, bank_id)["remaining"]
    session.execute(
        update(code_banks)
        .where(and_(code_banks.c.id == bank_id, code_banks.c.low_stock_threshold <= remaining))
        .values(low_stock_alerted=False)
    )


def claim_code(session: Session, *, bank_id: int, outbox: Outbox) -> ClaimedCode | None:
    """Hand out one unclaimed code, or None when the bank is empty.

    On PostgreSQL ``FOR UPDATE SKIP LOCKED`` lets concurrent claims take
    different codes without waiting; on SQLite the write lock taken at BEGIN
    already serialises them.
    """
    row = session.execute(
        select(bank_codes.c.id, bank_codes.c.code)
        .where(and_(bank_codes.c.bank_id == bank_id, bank_codes.c.claimed_at.is_(None)))
        .order_by(bank_codes.c.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).first()
    if row is None:
        _announce_low_stock(session, bank_id=bank_id, outbox=outbox)
        return None
    session.execute(update(bank_codes).where(bank_codes.c.id == row.id).values(claimed_at=utcnow()))
    _announce_low_stock(session, bank_id=bank_id, outbox=outbox)
    return ClaimedCode(id=int(row.id), code=str(row.code))


def _announce_low_stock(session: Session, *, bank_id: int, outbox: Outbox) -> None:
    """Emit ``rewards.code_bank_low`` once each time the bank falls under its threshold.

    The bank row is locked before counting: a claim made by a transaction not
    yet committed is invisible to the count, but that transaction waits here
    and counts again after this one commits, so the last claim sees the truth.
    """
    session.execute(
        select(code_banks.c.id).where(code_banks.c.id == bank_id).with_for_update()
    ).first()
    remaining = _counts(session, bank_id)["remaining"]
    bank = session.execute(
        update(code_banks)
        .where(
            and_(
                code_banks.c.id == bank_id,
                code_banks.c.low_stock_alerted.is_(False),
                code_banks.c.low_stock_threshold > remaining,
            )
        )
        .values(low_stock_alerted=True)
        .returning(code_banks.c.name, code_banks.c.low_stock_threshold)
    ).first()
    if bank is not None:
        outbox.add(
            session,
            CODE_BANK_LOW,
            {
                "bank_id": str(bank_id),
                "name": bank.name,
                "remaining": remaining,
                "threshold": int(bank.low_stock_threshold),
            },
        )

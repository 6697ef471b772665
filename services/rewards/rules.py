"""Reward rules, set by marketers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common.sql import insert_ignoring_conflicts
from services.common.utc_time import utcnow
from services.rewards.code_banks import get_code_bank
from services.rewards.errors import Conflict, InvalidInput, NotFound
from services.rewards.models import rewards, rules
from services.rewards.rule_cache import bump_rules_version

REWARD_KINDS = ("POINTS", "BADGE", "DISCOUNT_CODE", "GIFT_CARD", "THANK_YOU_NOTE")
# What each reward kind needs set, beyond the kind itself.
REQUIRED_BY_KIND = {
    "POINTS": ("points",),
    "BADGE": ("badge_code",),
    "DISCOUNT_CODE": ("code_bank_id",),
    "GIFT_CARD": ("gift_card_amount_cents", "gift_card_currency"),
    "THANK_YOU_NOTE": ("note_template",),
}
REQUIRED_BY_TRIGGER = {
    "HUMAN_CLICKS_REACHED": ("trigger_clicks",),
    "TIER_REACHED": ("trigger_tier",),
}


def check_rule(session: Session, rule: dict[str, Any]) -> None:
    """Refuse a rule that could never give anything, naming the fields to fix."""
    missing = [
        name
        for name in (
            *REQUIRED_BY_KIND.get(rule["reward_kind"], ()),
            *REQUIRED_BY_TRIGGER.get(rule["trigger"], ()),
        )
        if rule.get(name) in (None, "")
    ]
    if missing:
        raise InvalidInput(
            f"A {rule['trigger']} rule giving {rule['reward_kind']} needs {', '.join(missing)}.",
            details={
                "fields": {name: ["Required for this trigger and reward."] for name in missing}
            },
        )
    # Any kind may name a bank, and the name must hold (the foreign key would refuse it).
    if rule.get("code_bank_id") is not None:
        try:
            get_code_bank(session, bank_id=int(rule["code_bank_id"]))
        except NotFound as exc:
            raise InvalidInput(
                exc.message, details={"fields": {"code_bank_id": ["No such code bank."]}}
            ) from exc


def create_rule(session: Session, *, data: dict[str, Any]) -> dict[str, Any]:
    """Add a rule (live unless ``paused``)."""
    rule = {"paused": False, **data}
    check_rule(session, rule)
    now = utcnow()
    # The key is unique: the database decides, so two marketers racing get one rule each
    # only if their keys differ.
    rule_id = session.execute(
        insert_ignoring_conflicts(session, rules)
        .values(**rule, budget_spent=0, created_at=now, updated_at=now)
        .returning(rules.c.id)
    ).scalar()
    if rule_id is None:
        raise _key_taken(str(rule.get("key")))
    bump_rules_version(session)
    return get_rule(session, rule_id=int(rule_id))


def update_rule(session: Session, *, rule_id: int, changes: dict[str, Any]) -> dict[str, Any]:
    """Change a rule, e.g. pause it; rewards already issued stay."""
    merged = {**get_rule(session, rule_id=rule_id), **changes}
    check_rule(session, merged)
    try:
        with session.begin_nested():
            session.execute(
                update(rules).where(rules.c.id == rule_id).values(**changes, updated_at=utcnow())
            )
    except IntegrityError as exc:
        # Foreign keys are checked above; the one constraint left is the unique key.
        raise _key_taken(str(changes.get("key"))) from exc
    bump_rules_version(session)
    return get_rule(session, rule_id=rule_id)


def _key_taken(key: str) -> Conflict:
    return Conflict(
        f"A rule with key {key!r} exists already; pick another key or change that rule.",
        code="KEY_TAKEN",
        details={"fields": {"key": ["Taken by another rule."]}},
    )


def get_rule(session: Session, *, rule_id: int) -> dict[str, Any]:
    row = session.execute(select(rules).where(rules.c.id == rule_id)).mappings().first()
    if row is None:
        raise NotFound(f"No rule has id {rule_id}.")
    return {**row, "issued_count": _issued_count(session, rule_id)}


def list_rules(session: Session) -> list[dict[str, Any]]:
    counts: dict[int, int] = dict(
        session.execute(select(rewards.c.rule_id, func.count()).group_by(rewards.c.rule_id)).all()
    )
    rows = session.execute(select(rules).order_by(rules.c.id)).mappings()
    return [{**row, "issued_count": int(counts.get(row["id"], 0))} for row in rows]


def _issued_count(session: Session, rule_id: int) -> int:
    return int(session.scalar(select(func.count()).where(rewards.c.rule_id == rule_id)) or 0)

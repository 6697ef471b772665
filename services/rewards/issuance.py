"""Turning deeds into rewards: at most one reward per (rule, event).

``issue_rewards_for_deed`` runs inside the event consumer's transaction, the
one that also records the event id as processed. Each rule's reward, its
ledger entries, its code or gift-card order and its delivery job are written
in that transaction; a rule that may still refuse after its reward row is
written (a cap, a budget, a badge held already) works in a savepoint, so a
refusal leaves nothing behind. A failure anywhere rolls back the whole event
so its retry starts clean. The unique key on (rule, event) guards issuance on
its own, whatever path delivers the event. On PostgreSQL a plain points rule
writes everything in one statement (:mod:`services.rewards.points_in_one_statement`).
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, any_, bindparam, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from services.common.outbox import Outbox
from services.common.sql import insert_ignoring_conflicts, is_postgresql
from services.common.utc_time import utcnow
from services.rewards import code_banks, ledger
from services.rewards.deeds import HUMAN_CLICKS_REACHED, TIER_REACHED, Deed
from services.rewards.deliveries import NONE as NONE_CHANNEL
from services.rewards.deliveries import (
    PENDING,
    SILENT,
    create_delivery,
    create_delivery_for_channel,
)
from services.rewards.gift_cards import PURCHASE_TASK, place_gift_card_order
from services.rewards.interfaces import TaskQueue
from services.rewards.messages import render_note
from services.rewards.models import (
    accounts,
    fan_badges,
    fan_profiles,
    packs,
    rewards,
    rule_fan_counters,
    rules,
)
from services.rewards.points_in_one_statement import (
    issue_points_in_one_statement,
    points_parameters,
)
from services.rewards.points_pipeline import (
    QueuedPoints,
    follow_up_points,
    is_queueing,
    queue_points,
    send_queued_points,
)
from services.rewards.rule_cache import RuleCache, rules_version_query
from services.rewards.sql import enqueue_after_commit
from services.rewards.tiers import move_tier_if_needed, tier_rank

log = logging.getLogger(__name__)

ISSUED = "ISSUED"
AWAITING_STOCK = "AWAITING_STOCK"
REVERSED = "REVERSED"


@dataclass(frozen=True)
class IssuanceContext:
    outbox: Outbox
    thresholds: dict[str, int]
    gift_card_provider: str
    queue: TaskQueue | None
    rule_cache: RuleCache = field(default_factory=RuleCache)


@dataclass(frozen=True)
class Fan:
    """What issuance needs to know about the fan, read in one statement."""

    fan_id: str
    account_id: int
    channel: str | None


class _RuleSkipped(Exception):
    """Rolls the rule's savepoint back: capped, over budget, or nothing to give."""


def reward_idempotency_key(rule_id: int, event_id: str) -> str:
    """The key every outside call about this reward carries, so a retry never buys twice."""
    return f"reward:{rule_id}:{event_id}"


def issue_rewards_for_deed(session: Session, deed: Deed, context: IssuanceContext) -> list[int]:
    """Apply every live rule the deed matches; returns the ids of rewards issued now.

    Points rewards queued for a batch's pipeline are not among them (their ids
    are known once the queue is sent).
    """
    version, fan = _read_fan(session, deed.fan_id)
    issued: list[int] = []
    live = context.rule_cache.live_rules(session, deed.trigger, version)
    for rule in matching_rules(session, deed, live):
        reward_id = issue_reward(session, rule, deed, context, fan)
        if reward_id is not None:
            issued.append(reward_id)
    return issued


def _build_fan_context_query() -> Any:
    """The rules version, the fan's account and thank-you channel, as one SELECT."""
    fan_id = bindparam("fan_id", type_=accounts.c.fan_id.type)
    return select(
        rules_version_query().label("rules_version"),
        select(accounts.c.id)
        .where(accounts.c.fan_id == fan_id)
        .scalar_subquery()
        .label("account_id"),
        select(fan_profiles.c.thank_you_channel)
        .where(fan_profiles.c.fan_id == fan_id)
        .scalar_subquery()
        .label("channel"),
    )


def _build_fans_context_query(*, postgresql: bool) -> Any:
    """The same for many fans with an account, as one SELECT (a batch of events).

    On PostgreSQL the fans are one array parameter (``= ANY(:fan_ids)``), so the
    statement's text is the same whatever the batch's size: psycopg parses it
    once and the server prepares it, where an IN list is a new statement for
    each number of fans. SQLite has no arrays: an expanding IN list there.
    """
    fan_ids = (
        accounts.c.fan_id == any_(bindparam("fan_ids", type_=ARRAY(accounts.c.fan_id.type)))
        if postgresql
        else accounts.c.fan_id.in_(bindparam("fan_ids", expanding=True))
    )
    return (
        select(
            rules_version_query().label("rules_version"),
            accounts.c.fan_id,
            accounts.c.id.label("account_id"),
            fan_profiles.c.thank_you_channel.label("channel"),
        )
        .select_from(accounts.outerjoin(fan_profiles, fan_profiles.c.fan_id == accounts.c.fan_id))
        .where(fan_ids)
    )


# Built once with bound parameters: constructing them per event cost more CPU than running them.
FAN_CONTEXT_QUERY = _build_fan_context_query()
FANS_CONTEXT_QUERY = _build_fans_context_query(postgresql=False)
FANS_CONTEXT_QUERY_POSTGRESQL = _build_fans_context_query(postgresql=True)
_BATCH_FANS = "rewards.batch_fans"


def read_fans_of_batch(session: Session, fan_ids: set[str]) -> None:
    """Read the context of a batch's fans in one query, for its events' issuance to use.

    Kept in ``session.info``, so it lives as long as the batch's transaction.
    Fans without an account yet are left out: their first event opens one.
    The rules version is read once for the batch, so a rule changed while a
    batch is being applied applies from the next batch.
    """
    if not fan_ids:
        return
    known: dict[str, tuple[int | None, Fan]] = {}
    query = FANS_CONTEXT_QUERY_POSTGRESQL if is_postgresql(session) else FANS_CONTEXT_QUERY
    for row in session.execute(query, {"fan_ids": sorted(fan_ids)}):
        version = None if row.rules_version is None else int(row.rules_version)
        fan = Fan(fan_id=str(row.fan_id), account_id=int(row.account_id), channel=row.channel)
        known[fan.fan_id] = (version, fan)
    session.info[_BATCH_FANS] = known


def _read_fan(session: Session, fan_id: str) -> tuple[int | None, Fan]:
    """The rules version, the fan's account and thank-you channel, in one round trip."""
    known = session.info.get(_BATCH_FANS, {}).get(fan_id)
    if known is not None:
        return known  # type: ignore[no-any-return]
    row = session.execute(FAN_CONTEXT_QUERY, {"fan_id": fan_id}).one()
    account_id = row.account_id
    if account_id is None:
        account_id = ledger.open_fan_account(session, fan_id)
    version = None if row.rules_version is None else int(row.rules_version)
    return version, Fan(fan_id=fan_id, account_id=int(account_id), channel=row.channel)


def matching_rules(
    session: Session, deed: Deed, candidates: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The rules among ``candidates`` (live rules of the deed's trigger) the deed satisfies."""
    pack_tags: list[str] | None = None
    matched = []
    for rule in candidates:
        if rule["trigger"] != deed.trigger:
            continue
        if deed.trigger == HUMAN_CLICKS_REACHED and rule["trigger_clicks"] != deed.milestone:
            continue
        if deed.trigger == TIER_REACHED and (
            rule["trigger_tier"] != deed.new_tier
            or tier_rank(deed.new_tier or "") <= tier_rank(deed.old_tier or "")
        ):
            continue
        if rule["pack_id"] and rule["pack_id"] != deed.pack_id:
            continue
        if rule["tag"]:
            if pack_tags is None:
                pack_tags = _pack_tags(session, deed.pack_id)
            if rule["tag"].lower() not in pack_tags:
                continue
        matched.append(rule)
    return matched


def _pack_tags(session: Session, pack_id: str | None) -> list[str]:
    if pack_id is None:
        return []
    tags = session.scalar(select(packs.c.tags).where(packs.c.pack_id == pack_id))
    return [str(tag).lower() for tag in tags or []]


def issue_reward(
    session: Session, rule: dict[str, Any], deed: Deed, context: IssuanceContext, fan: Fan
) -> int | None:
    """Issue ``rule``'s reward for ``deed`` unless it was issued before or a limit says no."""
    if rule["reward_kind"] == "POINTS" and not _may_skip(rule) and is_postgresql(session):
        return _issue_points_in_one_statement(session, rule, deed, context, fan)
    # what this rule reads or writes comes after the rewards queued before it
    send_queued_points(session)
    after_commit: list[tuple[str, int]] = []
    # A savepoint costs two round trips; only a rule that may still say no
    # after its reward row is written needs one to take that row back.
    scope = session.begin_nested() if _may_skip(rule) else contextlib.nullcontext()
    try:
        with scope:
            reward_id = _claim_reward(session, rule, deed, fan)
            if reward_id is None:
                log.info("rule %s already rewarded event %s", rule["id"], deed.event_id)
                return None
            _claim_caps(session, rule, deed)
            _spend_budget(session, rule)
            status = _grant(
                session,
                rule=rule,
                deed=deed,
                fan=fan,
                reward_id=reward_id,
                context=context,
                after_commit=after_commit,
            )
            if status == ISSUED:
                create_delivery_for_channel(
                    session,
                    reward_id=reward_id,
                    fan_id=deed.fan_id,
                    channel=fan.channel,
                    queue=context.queue,
                )
    except _RuleSkipped as skipped:
        log.info("rule %s gives nothing for event %s: %s", rule["id"], deed.event_id, skipped)
        return None
    for task, task_arg in after_commit:
        enqueue_after_commit(session, context.queue, task, task_arg)
    return reward_id


def _may_skip(rule: dict[str, Any]) -> bool:
    """Whether a cap, the budget or a badge already held may refuse the reward."""
    return (
        rule["reward_kind"] == "BADGE"
        or rule["budget"] is not None
        or any(rule[cap] is not None for cap in ("cap_per_day", "cap_per_week", "cap_total"))
    )


def _claim_reward(session: Session, rule: dict[str, Any], deed: Deed, fan: Fan) -> int | None:
    row = session.execute(
        insert_ignoring_conflicts(session, rewards)
        .values(**_reward_values(rule, deed, fan))
        .returning(rewards.c.id)
    ).first()
    return int(row.id) if row is not None else None


def _reward_values(rule: dict[str, Any], deed: Deed, fan: Fan) -> dict[str, Any]:
    return {
        "rule_id": rule["id"],
        "event_id": deed.event_id,
        "event_type": deed.event_type,
        "fan_id": deed.fan_id,
        "account_id": fan.account_id,
        "kind": rule["reward_kind"],
        "points": rule["points"] if rule["reward_kind"] == "POINTS" else 0,
        "badge_code": rule["badge_code"],
        "amount_cents": rule["gift_card_amount_cents"],
        "currency": rule["gift_card_currency"],
        "pack_id": deed.pack_id,
        "conversion_id": deed.conversion_id,
        "status": ISSUED,
        "occurred_at": deed.occurred_at,
        "created_at": utcnow(),
    }


def _issue_points_in_one_statement(
    session: Session, rule: dict[str, Any], deed: Deed, context: IssuanceContext, fan: Fan
) -> int | None:
    """The PostgreSQL path of a points rule that nothing can refuse (see the module used).

    In a batch the statement is queued for the batch's pipeline
    (:mod:`services.rewards.points_pipeline`) and None is returned: its
    reward id is known once the queue is sent.
    """
    silent = fan.channel in (None, NONE_CHANNEL)
    parameters = points_parameters(
        reward_values=_reward_values(rule, deed, fan),
        fan_account_id=fan.account_id,
        program_account_id=ledger.program_account_id(session, ledger.POINTS_ISSUED),
        points=int(rule["points"]),
        delivery_status=SILENT if silent else PENDING,
        delivery_channel=NONE_CHANNEL if silent else None,
        now=utcnow(),
    )
    if is_queueing(session):
        queue_points(
            session,
            QueuedPoints(
                parameters=parameters,
                rule_id=int(rule["id"]),
                event_id=deed.event_id,
                fan_id=fan.fan_id,
                account_id=fan.account_id,
                silent=silent,
            ),
        )
        return None
    issued = issue_points_in_one_statement(session, parameters)
    if issued is None:
        log.info("rule %s already rewarded event %s", rule["id"], deed.event_id)
        return None
    follow_up_points(
        session,
        issued,
        fan_id=fan.fan_id,
        account_id=fan.account_id,
        silent=silent,
        current_tier=issued.tier,
        context=context,
    )
    return issued.reward_id


def cap_periods(rule: dict[str, Any], moment: datetime) -> list[tuple[str, int]]:
    """The (period key, cap) pairs a rule limits, for a deed at ``moment`` (UTC)."""
    iso = moment.isocalendar()
    periods = []
    if rule["cap_per_day"] is not None:
        periods.append((f"D{moment.date().isoformat()}", int(rule["cap_per_day"])))
    if rule["cap_per_week"] is not None:
        periods.append((f"W{iso.year}-{iso.week:02d}", int(rule["cap_per_week"])))
    if rule["cap_total"] is not None:
        periods.append(("total", int(rule["cap_total"])))
    return periods


def _claim_caps(session: Session, rule: dict[str, Any], deed: Deed) -> None:
    """Count this reward against the fan's caps with conditional increments, or skip it."""
    for period, cap in cap_periods(rule, deed.occurred_at):
        session.execute(
            insert_ignoring_conflicts(session, rule_fan_counters).values(
                rule_id=rule["id"], fan_id=deed.fan_id, period=period, count=0
            )
        )
        counted = session.execute(
            update(rule_fan_counters)
            .where(
                and_(
                    rule_fan_counters.c.rule_id == rule["id"],
                    rule_fan_counters.c.fan_id == deed.fan_id,
                    rule_fan_counters.c.period == period,
                    rule_fan_counters.c.count < cap,
                )
            )
            .values(count=rule_fan_counters.c.count + 1)
            .returning(rule_fan_counters.c.count)
        ).first()
        if counted is None:
            raise _RuleSkipped(f"fan {deed.fan_id} reached the cap of {cap} for {period}")


def budget_units(rule: dict[str, Any]) -> int:
    """What one reward costs the rule's budget: points, cents, or one reward."""
    if rule["reward_kind"] == "POINTS":
        return int(rule["points"] or 0)
    if rule["reward_kind"] == "GIFT_CARD":
        return int(rule["gift_card_amount_cents"] or 0)
    return 1


def _spend_budget(session: Session, rule: dict[str, Any]) -> None:
    # Only budgeted rules touch their row, so unbudgeted issuance never queues on it.
    if rule["budget"] is None:
        return
    units = budget_units(rule)
    spent = session.execute(
        update(rules)
        .where(and_(rules.c.id == rule["id"], rules.c.budget_spent + units <= rules.c.budget))
        .values(budget_spent=rules.c.budget_spent + units)
        .returning(rules.c.budget_spent)
    ).first()
    if spent is None:
        raise _RuleSkipped(f"rule budget of {rule['budget']} is spent")


def _grant(
    session: Session,
    *,
    rule: dict[str, Any],
    deed: Deed,
    fan: Fan,
    reward_id: int,
    context: IssuanceContext,
    after_commit: list[tuple[str, int]],
) -> str:
    kind = rule["reward_kind"]
    if kind == "POINTS":
        grant_points(session, fan.account_id, int(rule["points"]), reward_id, context)
    elif kind == "BADGE":
        awarded = session.execute(
            insert_ignoring_conflicts(session, fan_badges)
            .values(
                fan_id=deed.fan_id,
                badge_code=rule["badge_code"],
                reward_id=reward_id,
                awarded_at=utcnow(),
            )
            .returning(fan_badges.c.badge_code)
        ).first()
        if awarded is None:
            raise _RuleSkipped(f"fan {deed.fan_id} holds badge {rule['badge_code']} already")
    elif kind == "DISCOUNT_CODE":
        code = code_banks.claim_code(session, bank_id=rule["code_bank_id"], outbox=context.outbox)
        if code is None:
            _set_reward(session, reward_id, status=AWAITING_STOCK)
            log.warning("code bank %s is empty; reward %s waits", rule["code_bank_id"], reward_id)
            return AWAITING_STOCK
        _set_reward(session, reward_id, code_id=code.id)
    elif kind == "GIFT_CARD":
        order_id = place_gift_card_order(
            session,
            idempotency_key=reward_idempotency_key(int(rule["id"]), deed.event_id),
            fan_id=deed.fan_id,
            amount_cents=int(rule["gift_card_amount_cents"]),
            currency=str(rule["gift_card_currency"]),
            provider_name=context.gift_card_provider,
            reward_id=reward_id,
        )
        after_commit.append((PURCHASE_TASK, order_id))
    elif kind == "THANK_YOU_NOTE":
        _set_reward(session, reward_id, note=_note_for(session, rule, deed))
    return ISSUED


def grant_points(
    session: Session, account_id: int, points: int, reward_id: int, context: IssuanceContext
) -> None:
    """Credit points from the program, then move the fan's tier if lifetime points say so."""
    account = ledger.post_journal(
        session,
        fan_account_id=account_id,
        program_code=ledger.POINTS_ISSUED,
        amount=points,
        kind=ledger.GRANT,
        reward_id=reward_id,
    )
    move_tier_if_needed(
        session,
        account_id=account.id,
        fan_id=account.fan_id,
        current_tier=account.tier,
        lifetime_points=account.lifetime_points,
        thresholds=context.thresholds,
        outbox=context.outbox,
    )


def _note_for(session: Session, rule: dict[str, Any], deed: Deed) -> str:
    display_name = session.scalar(
        select(fan_profiles.c.display_name).where(fan_profiles.c.fan_id == deed.fan_id)
    )
    pack_title = (
        session.scalar(select(packs.c.title).where(packs.c.pack_id == deed.pack_id))
        if deed.pack_id
        else None
    )
    return render_note(
        str(rule["note_template"] or "Thank you!"),
        {
            "display_name": display_name or "friend",
            "pack_title": pack_title or "",
            "tier": deed.new_tier or "",
        },
    )


def _set_reward(session: Session, reward_id: int, **values: Any) -> None:
    session.execute(update(rewards).where(rewards.c.id == reward_id).values(**values))


def hand_out_waiting_codes(session: Session, *, bank_id: int, context: IssuanceContext) -> int:
    """After an upload: give codes to rewards that waited for stock, oldest first."""
    waiting = session.execute(
        select(rewards.c.id, rewards.c.fan_id)
        .join(rules, rules.c.id == rewards.c.rule_id)
        .where(and_(rewards.c.status == AWAITING_STOCK, rules.c.code_bank_id == bank_id))
        .order_by(rewards.c.id)
    ).all()
    handed = 0
    for reward_id, fan_id in waiting:
        code = code_banks.claim_code(session, bank_id=bank_id, outbox=context.outbox)
        if code is None:
            break
        _set_reward(session, int(reward_id), code_id=code.id, status=ISSUED)
        if fan_id is not None:
            create_delivery(session, reward_id=int(reward_id), fan_id=fan_id, queue=context.queue)
        handed += 1
    return handed

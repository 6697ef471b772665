"""A batch's plain points rewards, sent to PostgreSQL together in one pipeline.

In a batch of events applied at once, each plain points reward is still its
own statement (:mod:`services.rewards.points_in_one_statement`), run in the
same order in the batch's transaction, but the statements are queued and sent
together in psycopg's pipeline mode instead of one round trip each: waiting
for each answer before sending the next cost more than PostgreSQL spent
running them, and kept the batch's transaction open that much longer. The
queue is sent before anything else the batch writes (a reversal, a rule that
may refuse, a pack) and at the latest when the transaction commits, so what
each statement sees and returns is what it would have one by one; the
results are then followed up in order (delivery task, tier move), with the
tier each account reached earlier in the queue.

Only a batch queues (``start_queueing`` runs in the consumer's
``before_batch``): an event applied alone, or a batch re-applied with a
savepoint per event after a failure, writes each reward at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from services.common.utc_time import UtcDateTime
from services.rewards.deliveries import DELIVER_TASK
from services.rewards.points_in_one_statement import ISSUE_POINTS, PointsIssued
from services.rewards.sql import enqueue_after_commit
from services.rewards.tiers import move_tier_if_needed

if TYPE_CHECKING:
    from services.rewards.issuance import IssuanceContext

log = logging.getLogger(__name__)

_QUEUE = "rewards.points_queue"


@dataclass(frozen=True)
class QueuedPoints:
    """One points reward waiting to be sent: its statement's parameters and what follows it."""

    parameters: dict[str, Any]
    rule_id: int
    event_id: str
    fan_id: str
    account_id: int
    silent: bool


@dataclass
class _PointsQueue:
    context: IssuanceContext
    items: list[QueuedPoints] = field(default_factory=list)


def start_queueing(session: Session, context: IssuanceContext) -> None:
    """Queue this transaction's plain points rewards until they are needed (a batch's)."""
    if _QUEUE in session.info:
        return
    session.info[_QUEUE] = _PointsQueue(context)
    event.listen(session, "before_commit", send_queued_points)


def is_queueing(session: Session) -> bool:
    return _QUEUE in session.info


def queue_points(session: Session, queued: QueuedPoints) -> None:
    queue: _PointsQueue = session.info[_QUEUE]
    queue.items.append(queued)


def send_queued_points(session: Session) -> None:
    """Send what is queued, in one pipeline, and follow each reward up in order.

    Called before the batch writes anything else and before it commits; a
    failure raises here, so the batch's transaction rolls back whole.
    """
    queue: _PointsQueue | None = session.info.get(_QUEUE)
    if queue is None or not queue.items:
        return
    items, queue.items = queue.items, []
    connection = session.connection()
    sql, converters = _compiled_sql(connection.dialect)
    parameters = [item.parameters for item in items]
    for each in parameters:
        for name, convert in converters:
            each[name] = convert(each[name])
    driver_connection: Any = connection.connection.driver_connection
    with driver_connection.cursor() as cursor:
        cursor.executemany(sql, parameters, returning=True)
        rows = []
        for _ in items:
            rows.append(cursor.fetchone())
            cursor.nextset()
    tiers: dict[int, str] = {}
    for item, row in zip(items, rows, strict=True):
        if row is None:
            log.info("rule %s already rewarded event %s", item.rule_id, item.event_id)
            continue
        issued = PointsIssued(
            reward_id=int(row[0]),
            delivery_id=int(row[1]),
            lifetime_points=int(row[2]),
            tier=str(row[3]),
        )
        tiers[item.account_id] = follow_up_points(
            session,
            issued,
            fan_id=item.fan_id,
            account_id=item.account_id,
            silent=item.silent,
            # a move earlier in the queue is not in the tier a later statement returned
            current_tier=tiers.get(item.account_id, issued.tier),
            context=queue.context,
        )


def follow_up_points(
    session: Session,
    issued: PointsIssued,
    *,
    fan_id: str,
    account_id: int,
    silent: bool,
    current_tier: str,
    context: IssuanceContext,
) -> str:
    """The thank-you task (after commit) and the tier move of a points reward; the fan's tier."""
    if not silent:
        enqueue_after_commit(session, context.queue, DELIVER_TASK, issued.delivery_id)
    return move_tier_if_needed(
        session,
        account_id=account_id,
        fan_id=fan_id,
        current_tier=current_tier,
        lifetime_points=issued.lifetime_points,
        thresholds=context.thresholds,
        outbox=context.outbox,
    )


@cache
def _compiled_sql(dialect: Dialect) -> tuple[str, list[tuple[str, Callable[[Any], Any]]]]:
    """The points statement as the driver takes it, compiled once per dialect, and the
    conversions its parameters need on the way (the time stamps' ``UtcDateTime``).

    Other parameters go to psycopg as they are: a type that starts to convert
    its values on the way fails here, loudly, rather than being skipped.
    """
    compiled = ISSUE_POINTS.compile(dialect=dialect)
    converters: list[tuple[str, Callable[[Any], Any]]] = []
    for name, bind in compiled.binds.items():
        convert = bind.type.bind_processor(dialect)
        if convert is None:
            continue
        if not isinstance(bind.type, UtcDateTime):
            raise TypeError(f"parameter {name} needs converting; send it through SQLAlchemy")
        converters.append((name, convert))
    return str(compiled), converters

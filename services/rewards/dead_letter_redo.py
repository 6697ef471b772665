"""What an operator can redo in rewards after its cause is fixed (``fanfare events
dead-letters retry``): a thank-you whose delivery failed all its retries.

A delivery task that keeps failing (the SMTP server down for longer than its
backoff) is parked in ``dead_letters`` and its delivery marked FAILED, so that
nobody waits on it. Putting it back to PENDING is all a redo needs: the task,
sent again, delivers it through the fan's channel of the moment, once (it
locks the row and skips anything no longer PENDING), and the periodic sweep of
stale PENDING deliveries sends it should that task be lost.

Gift-card purchases need no redo (a failed order stays PENDING and the sweep
sends it again); a digest's thank-yous stay due and the next digest run takes
them.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, and_, update
from sqlalchemy.orm import Session

from services.common.dead_letters import TaskRedo
from services.rewards.deliveries import DELIVER_TASK, PENDING
from services.rewards.models import deliveries

FAILED = "FAILED"


def redo_failed_delivery(session: Session, payload: dict[str, Any]) -> bool:
    """FAILED -> PENDING, with its attempts and error cleared; False if it is not FAILED."""
    result = session.execute(
        update(deliveries)
        .where(and_(deliveries.c.id == int(payload["delivery_id"]), deliveries.c.status == FAILED))
        .values(status=PENDING, attempts=0, last_error=None)
    )
    return cast(CursorResult[Any], result).rowcount == 1


TASK_REDOERS: dict[str, TaskRedo] = {DELIVER_TASK: redo_failed_delivery}

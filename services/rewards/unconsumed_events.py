"""Re-send the events rewards sent itself that never reached its consumer.

The broker can lose a message: kombu's Redis transport pops a task with
BRPOP before it records it as unacknowledged, so a worker whose main process
is killed in between loses it. The outbox marks an event sent once the broker
took it, so nothing would ever send it again. For the events rewards both
produces and consumes (``rewards.tier_changed``, which fires TIER_REACHED
rules) the outbox and the consumer's ``processed_events`` share one database:
an event sent a while ago that was never applied is lost, and marking it
unsent again makes the relay send it once more. The consumer applies an event
once per id, so a re-send of one that was only slow is harmless.

Events from other services live in their producers' outboxes; recovering
those needs the same check in the common relay (see the README).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, exists, select, update
from sqlalchemy.orm import Session

from services.rewards.models import event_tables
from services.rewards.tiers import TIER_CHANGED

# The event types rewards sends to itself.
SELF_CONSUMED = (TIER_CHANGED,)


def resend_unconsumed_events(
    session: Session, *, sent_before: datetime, not_before: datetime
) -> int:
    """Mark unsent again the self-consumed events sent in the window and never applied.

    ``not_before`` bounds the look-back, so a sweep never scans the whole
    outbox's history. Returns how many events will be sent again.
    """
    outbox = event_tables.outbox
    processed = event_tables.processed
    rows = session.execute(
        update(outbox)
        .where(
            and_(
                outbox.c.event_type.in_(SELF_CONSUMED),
                outbox.c.sent_at < sent_before,
                outbox.c.sent_at >= not_before,
                ~exists(
                    select(processed.c.event_id).where(processed.c.event_id == outbox.c.event_id)
                ),
            )
        )
        .values(sent_at=None, last_error="not applied after it was sent; sent again")
        .returning(outbox.c.event_id)
    ).all()
    return len(rows)

"""Which events rewards applies, and how (payloads in docs/events.md).

Handlers run inside the common consumer's transaction, the one that records
the event id as processed, so an event's rewards commit together with that
record or not at all. In a batch, plain points rewards are queued and sent
together (:mod:`services.rewards.points_pipeline`); every other handler sends
the queue first, so it sees what the events before it wrote.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from services.common.events import Event
from services.common.outbox import EventConsumer
from services.rewards import packs
from services.rewards.deeds import TRIGGER_BY_EVENT_TYPE, MalformedEvent, deed_from_event
from services.rewards.issuance import IssuanceContext, issue_rewards_for_deed, read_fans_of_batch
from services.rewards.points_pipeline import send_queued_points, start_queueing
from services.rewards.reversal import reverse_conversion


def register_event_handlers(consumer: EventConsumer, context: IssuanceContext) -> None:
    def issue(session: Session, event: Event) -> None:
        issue_rewards_for_deed(session, deed_from_event(event), context)

    for event_type in TRIGGER_BY_EVENT_TYPE:
        consumer.on(event_type)(issue)

    @consumer.before_batch
    def read_fans(session: Session, events: Sequence[Event]) -> None:
        fan_ids = {
            str(event.payload["fan_id"])
            for event in events
            if event.type in TRIGGER_BY_EVENT_TYPE and isinstance(event.payload.get("fan_id"), str)
        }
        read_fans_of_batch(session, fan_ids)
        start_queueing(session, context)

    @consumer.on("referrals.conversion_reversed")
    def reverse(session: Session, event: Event) -> None:
        conversion_id = event.payload.get("conversion_id")
        if not conversion_id:
            raise MalformedEvent(f"event {event.id} has no conversion_id")
        send_queued_points(session)  # a reversal reads the rewards queued before it
        reverse_conversion(session, conversion_id=str(conversion_id), context=context)

    @consumer.on("content.pack_published")
    @consumer.on("content.pack_updated")
    def remember_pack(session: Session, event: Event) -> None:
        send_queued_points(session)
        packs.upsert_pack(session, event.payload, status="PUBLISHED")

    @consumer.on("content.pack_archived")
    def archive_pack(session: Session, event: Event) -> None:
        send_queued_points(session)
        packs.archive_pack(session, event.payload)

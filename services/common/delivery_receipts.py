"""Delivery receipts: an event the broker lost after taking it is sent again.

The outbox marks an event sent once the broker took it. Kombu's Redis
transport can still lose a message after that: a worker pops it with BRPOP
and records it as unacknowledged only afterwards, so a worker whose main
process dies in between takes the message with it, and nothing would ever
send it again. Receipts close that gap without a table of their own:

- before sending, the relay notes each (consuming service, event id) it
  hands to the broker in a Redis sorted set per producer, scored by the time;
- after its transaction commits, a consumer removes what it applied (or
  found applied before, or parked in ``dead_letters``);
- each relay pass looks for notes older than ``EVENT_CONFIRM_GRACE_SECONDS``
  and marks those events unsent in the producer's outbox, so the relay sends
  them again. Consumers apply an event once per id, so a re-send of an event
  that was merely slow changes nothing.

While a consuming service's queue holds a backlog, its old notes are left
alone: its events are most likely still queued, and re-sending a backlog
would only double it. Redis is the broker as well as the receipt book: the
one cannot lose the notes without losing queued messages too.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping, Sequence

import redis

from services.common.events import Event

log = logging.getLogger(__name__)

_SEPARATOR = "|"


def awaiting_key(producer: str) -> str:
    """The sorted set of ``<consumer>|<event id>`` that ``producer`` sent and awaits."""
    return f"fanfare:receipts:{producer}"


class DeliveryReceipts:
    """Notes what a producer's relay sent, and what its consumers confirmed."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        grace_seconds: float,
        backlog_threshold: int,
    ) -> None:
        self.client = client
        self.grace_seconds = grace_seconds
        self.backlog_threshold = backlog_threshold

    def expect(self, producer: str, sent: Mapping[str, Sequence[Event]]) -> None:
        """Note, before the broker gets them, the events each consuming service is sent."""
        members = {
            f"{service}{_SEPARATOR}{event.id}": time.time()
            for service, events in sent.items()
            for event in events
        }
        if members:
            self.client.zadd(awaiting_key(producer), members)

    def confirm(self, consumer: str, events: Iterable[Event]) -> None:
        """``consumer`` committed ``events`` (or had before): their producers stop waiting.

        Best effort: if Redis is unreachable now, the notes stay, the events
        are sent again after the grace period, and that delivery confirms them.
        """
        per_producer: dict[str, list[str]] = {}
        for event in events:
            per_producer.setdefault(event.producer, []).append(f"{consumer}{_SEPARATOR}{event.id}")
        if not per_producer:
            return
        try:
            with self.client.pipeline(transaction=False) as pipe:
                for producer, members in per_producer.items():
                    pipe.zrem(awaiting_key(producer), *members)
                pipe.execute()
        except redis.RedisError as exc:
            log.warning("delivery receipts not recorded (they will be re-sent): %s", exc)

    def overdue(self, producer: str, *, limit: int) -> dict[str, list[str]]:
        """Event ids per consuming service sent longer than the grace ago and not confirmed.

        A service whose queue holds more than ``backlog_threshold`` messages is
        left out: its events are still on their way.
        """
        cutoff = time.time() - self.grace_seconds
        members = self.client.zrangebyscore(
            awaiting_key(producer), "-inf", cutoff, start=0, num=limit
        )
        per_service: dict[str, list[str]] = {}
        for member in members:
            text = member.decode() if isinstance(member, bytes) else str(member)
            service, _, event_id = text.partition(_SEPARATOR)
            per_service.setdefault(service, []).append(event_id)
        return {
            service: event_ids
            for service, event_ids in per_service.items()
            if self.queue_length(service) <= self.backlog_threshold
        }

    def forget(self, producer: str, overdue: Mapping[str, Sequence[str]]) -> None:
        """Drop notes whose events are being sent again (the re-send notes them anew)."""
        members = [
            f"{service}{_SEPARATOR}{event_id}"
            for service, event_ids in overdue.items()
            for event_id in event_ids
        ]
        if members:
            self.client.zrem(awaiting_key(producer), *members)

    def queue_length(self, service: str) -> int:
        """Messages waiting on ``service``'s Celery queue (a Redis list named after it)."""
        return int(self.client.llen(service))

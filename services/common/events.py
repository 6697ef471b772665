"""Domain events: their envelope, and which services consume which events.

The routing table below is the one place that says who listens to what, so a
producer's outbox relay knows which service queues to deliver an event to.
Routing is configuration, not domain logic: handlers live in each service.
The catalogue of events and their payloads is docs/events.md.
"""

from __future__ import annotations

import fnmatch
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# event type pattern -> consuming services
EVENT_ROUTES: Mapping[str, Sequence[str]] = {
    "content.*": ("referrals", "rewards"),
    "referrals.*": ("rewards",),
    "rewards.tier_changed": ("content", "rewards"),
    "rewards.*": ("rewards",),
}


def consumers_of(event_type: str, routes: Mapping[str, Sequence[str]] | None = None) -> list[str]:
    """Services subscribed to ``event_type``, in a stable order."""
    return _subscribers(routes, lambda pattern: fnmatch.fnmatchcase(event_type, pattern))


def consumers_of_producer(
    producer: str, routes: Mapping[str, Sequence[str]] | None = None
) -> list[str]:
    """Services subscribed to any event ``producer`` emits (types ``<producer>.*``), in order."""
    return _subscribers(
        routes, lambda pattern: fnmatch.fnmatchcase(producer, pattern.split(".", 1)[0])
    )


def _subscribers(
    routes: Mapping[str, Sequence[str]] | None, matches: Callable[[str], bool]
) -> list[str]:
    """The services of every route whose pattern ``matches``, each once, in table order."""
    table = EVENT_ROUTES if routes is None else routes
    found: list[str] = []
    for pattern, services in table.items():
        if matches(pattern):
            found.extend(s for s in services if s not in found)
    return found


def consume_task_name(service: str) -> str:
    return f"{service}.consume_event"


@dataclass(frozen=True)
class Event:
    """What travels on the broker: id, type, producer, time and a JSON payload."""

    id: str
    type: str
    producer: str
    occurred_at: str
    payload: dict[str, Any]
    request_id: str | None = None

    @classmethod
    def new(
        cls, *, type: str, producer: str, payload: dict[str, Any], request_id: str | None = None
    ) -> Event:
        return cls(
            id=str(uuid.uuid4()),
            type=type,
            producer=producer,
            occurred_at=datetime.now(UTC).isoformat(),
            payload=payload,
            request_id=request_id,
        )

    def to_message(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "producer": self.producer,
            "occurred_at": self.occurred_at,
            "payload": self.payload,
            "request_id": self.request_id,
        }

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> Event:
        return cls(
            id=str(message["id"]),
            type=str(message["type"]),
            producer=str(message["producer"]),
            occurred_at=str(message["occurred_at"]),
            payload=dict(message.get("payload") or {}),
            request_id=message.get("request_id"),
        )

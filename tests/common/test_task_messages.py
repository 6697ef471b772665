"""What an event's task message shows of its arguments, on a real Redis broker."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import redis
from celery import Celery

from services.common.celery_app import send_event, send_events
from services.common.events import Event

QUEUE = "summaries"


@pytest.fixture
def broker(redis_url: str) -> Iterator[tuple[Celery, redis.Redis]]:
    celery = Celery("summaries", broker=redis_url)
    client = redis.Redis.from_url(redis_url)
    yield celery, client
    client.close()
    celery.close()


def queued_headers(client: redis.Redis) -> list[dict[str, object]]:
    return [json.loads(raw)["headers"] for raw in client.lrange(QUEUE, 0, -1)]


def shares(count: int) -> list[Event]:
    return [
        Event.new(
            type="referrals.share_recorded",
            producer="referrals",
            payload={"fan_id": f"fan-{n}", "note": "x" * 500},
        )
        for n in range(count)
    ]


def test_a_batch_message_names_how_many_events_it_carries_not_their_contents(
    broker: tuple[Celery, redis.Redis],
) -> None:
    celery, client = broker
    # Given a batch of 50 events with long payloads
    events = shares(50)
    # When the relay sends them as one task
    send_events(celery, QUEUE, events)
    # Then the message that logs and monitoring show says what it is, briefly
    (headers,) = queued_headers(client)
    assert headers["argsrepr"] == "(50 events)"
    assert headers["kwargsrepr"] == "{}"
    assert headers["task"] == f"{QUEUE}.consume_events"


def test_a_single_event_message_names_its_type_and_id(
    broker: tuple[Celery, redis.Redis],
) -> None:
    celery, client = broker
    # Given one event
    (event,) = shares(1)
    # When it is sent alone
    send_event(celery, QUEUE, event)
    # Then its message names the event, not a repr of its payload
    (headers,) = queued_headers(client)
    assert headers["argsrepr"] == f"(referrals.share_recorded {event.id})"
    assert "x" * 50 not in str(headers)

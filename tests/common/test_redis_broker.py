"""Celery's Redis transport keeps one Redis client per channel, on a real Redis broker."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from celery import Celery

from services.common.redis_broker import TRANSPORT_PATH


@pytest.fixture
def broker(redis_url: str) -> Iterator[tuple[Celery, redis.Redis]]:
    celery = Celery("probe", broker=redis_url)
    celery.conf.broker_transport = TRANSPORT_PATH
    client = redis.Redis.from_url(redis_url)
    yield celery, client
    client.close()
    celery.close()


@pytest.fixture
def clients_built(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts every redis.Redis built from here on (one entry each)."""
    built: list[int] = []
    original = redis.Redis.__init__

    def counting(self: redis.Redis, *args: Any, **kwargs: Any) -> None:
        built.append(1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(redis.Redis, "__init__", counting)
    return built


def test_tasks_sent_through_one_producer_build_one_redis_client(
    broker: tuple[Celery, redis.Redis], clients_built: list[int]
) -> None:
    # given a Celery app on the transport, and a queue of its own
    celery, client = broker
    queue = f"probe-{uuid.uuid4().hex}"

    # when it sends 20 tasks through one producer, as the relay does pass after pass
    with celery.producer_or_acquire() as producer:
        for n in range(20):
            celery.send_task("probe.task", args=[n], queue=queue, producer=producer)

    # then all 20 are on the queue, in order, and one client served every publish,
    # beside the one kombu keeps for its ping and BRPOP (kombu's own channel: 23 in all)
    bodies = [json.loads(raw) for raw in reversed(client.lrange(queue, 0, -1))]
    assert [body["headers"]["argsrepr"] for body in bodies] == [f"[{n}]" for n in range(20)]
    assert len(clients_built) == 2


def test_a_channel_whose_pool_was_replaced_publishes_on_the_new_pool(
    broker: tuple[Celery, redis.Redis],
) -> None:
    # given a producer that has published once
    celery, client = broker
    queue = f"probe-{uuid.uuid4().hex}"
    with celery.producer_or_acquire() as producer:
        celery.send_task("probe.task", args=[1], queue=queue, producer=producer)
        channel = producer.channel
        first_pool = channel.pool

        # when its pools are dropped, as kombu does in a forked child
        channel._disconnect_pools()
        celery.send_task("probe.task", args=[2], queue=queue, producer=producer)

        # then the next publish went through a client of the new pool
        assert channel.pool is not first_pool
        assert channel._shared_client.connection_pool is channel.pool
    assert client.llen(queue) == 2

"""Celery's Redis broker transport, with one Redis client per channel instead of one per call.

kombu's Redis channel builds a new ``redis.Redis`` each time it talks to Redis without
a client in hand: every publish, every ack and each piece of its unacked-message
bookkeeping. redis-py 8's constructor copies its ~170 response callbacks into a
case-insensitive dict, which cost ~0.3 ms of CPU each on the benchmark machine, several
times per task in the worker's main process and once per relay pass. A client holds no
connection of its own (each command borrows one from the channel's pool), so one client
per pool serves every call; a new pool (after a fork, or a reconnect) gets a new client.

Celery uses it through ``broker_transport`` (services/common/celery_app.py); the broker
URL stays ``redis://...``.
"""

from __future__ import annotations

from typing import Any

from kombu.transport import redis as kombu_redis


class Channel(kombu_redis.Channel):
    _shared_client: Any = None

    def _create_client(self, asynchronous: bool = False) -> Any:
        if asynchronous:  # BRPOP and pub/sub: kombu keeps those clients itself
            return super()._create_client(asynchronous=True)  # type: ignore[misc]
        client = self._shared_client
        if client is None or client.connection_pool is not self.pool:
            client = self._shared_client = super()._create_client()  # type: ignore[misc]
        return client


class Transport(kombu_redis.Transport):
    Channel = Channel


TRANSPORT_PATH = f"{__name__}:Transport"

"""What one running app holds: settings, database, outbox, consumer, broker client."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import redis
from flask import current_app
from prometheus_client.registry import Collector

from services.common.db import Database
from services.common.dead_letters import TaskRedo, count_dead_letters
from services.common.delivery_receipts import DeliveryReceipts
from services.common.metrics import DeadLettersCollector, OutboxBacklogCollector
from services.common.outbox import EventConsumer, EventTables, Outbox
from services.common.settings import CommonSettings

if TYPE_CHECKING:
    from celery import Celery


@dataclass
class ServiceRuntime:
    """Held at ``app.extensions["fanfare"]``; the app's only mutable globals."""

    settings: CommonSettings
    db: Database
    event_tables: EventTables | None
    outbox: Outbox | None
    consumer: EventConsumer | None
    redis: redis.Redis
    receipts: DeliveryReceipts
    celery: Celery | None = field(default=None)
    # How each dead-lettered task whose service can redo it is put back
    # (``fanfare events dead-letters retry``); see services/common/dead_letters.py.
    task_redoers: dict[str, TaskRedo] = field(default_factory=dict)

    @property
    def service(self) -> str:
        return self.settings.service_name

    def count_backlog(self) -> int:
        if self.outbox is None:
            return 0
        with self.db.reading() as session:
            return self.outbox.backlog(session)

    def count_dead_letters(self) -> int:
        if self.event_tables is None:
            return 0
        return count_dead_letters(self.db, self.event_tables)

    def scrape_time_gauges(self) -> list[Collector]:
        """What ``/metrics`` reads from the database when scraped: outbox backlog, dead letters."""
        if self.event_tables is None:
            return []
        return [
            OutboxBacklogCollector(self.service, self.count_backlog),
            DeadLettersCollector(self.service, self.count_dead_letters),
        ]

    def ping_broker(self) -> None:
        self.redis.ping()


def get_runtime() -> ServiceRuntime:
    """The runtime of the app serving the current request or task."""
    runtime: ServiceRuntime = current_app.extensions["fanfare"]
    return runtime

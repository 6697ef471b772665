"""The Celery app factory: tasks run inside the Flask app context.

Every service gets four plumbing tasks: ``<service>.relay_outbox``, run by
beat every ``OUTBOX_RELAY_INTERVAL_SECONDS`` (the safety net of the relay
process, :mod:`services.common.relay_loop`, which runs the same
:func:`relay_outbox_now` every ``OUTBOX_RELAY_POLL_SECONDS``);
``<service>.consume_event``, which applies an event once and parks it in
``dead_letters`` after its retries; ``<service>.consume_events``, which
applies up to ``EVENT_DELIVERY_BATCH_SIZE`` events in one transaction and
hands each one that fails to ``consume_event``; and
``<service>.purge_event_tables``, run by beat every
``EVENT_RETENTION_INTERVAL_SECONDS``, which deletes what the event tables no
longer need (:mod:`services.common.event_retention`).
Tasks are acknowledged late and re-queued if their worker dies, so a task must
be safe to run twice: take ids, re-read state, skip work already done.
"""

from __future__ import annotations

import hashlib
import logging
import random
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from celery import Celery, Task, signals
from flask import Flask
from prometheus_client import start_http_server
from redis.exceptions import RedisError

from services.common.event_retention import PURGE_TIME_BUDGET_SECONDS, purge_service_event_tables
from services.common.events import Event, consume_task_name
from services.common.log import current_request_id
from services.common.metrics import TASK_OUTCOMES, scrape_registry
from services.common.outbox import Outbox
from services.common.redis_broker import TRANSPORT_PATH as REDIS_TRANSPORT
from services.common.runtime import ServiceRuntime

log = logging.getLogger(__name__)

REQUEST_ID_TASK_HEADER = "fanfare_request_id"


def backoff_seconds(base: float, retries: int, *, cap: float = 600.0) -> float:
    """Exponential backoff with full jitter: a random wait up to base * 2**retries."""
    ceiling: float = min(cap, base * (2**retries))
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not security


def create_celery(app: Flask) -> Celery:
    """A Celery app bound to ``app``: its settings, its queue, its app context."""
    runtime: ServiceRuntime = app.extensions["fanfare"]
    settings = runtime.settings
    service = settings.service_name

    class AppContextTask(Task):  # type: ignore[type-arg]
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            request_id = getattr(self.request, REQUEST_ID_TASK_HEADER, None)
            token = current_request_id.set(request_id)
            try:
                with app.app_context():
                    return self.run(*args, **kwargs)
            finally:
                current_request_id.reset(token)

    celery: Celery = Celery(service, task_cls=AppContextTask)
    celery.conf.update(
        broker_url=settings.redis_url,
        broker_transport=REDIS_TRANSPORT,
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            # A task whose worker vanished is handed out again after this long...
            "visibility_timeout": settings.broker_visibility_timeout_seconds,
            # ...once a sweep looks: kombu's default sweeps only every ~100 s.
            "unacked_restore_interval": max(
                1.0, min(10.0, settings.broker_visibility_timeout_seconds / 2)
            ),
            "unacked_restore_throttle": 1,
            "socket_timeout": 5,
            "socket_connect_timeout": 3,
        },
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=service,
        task_time_limit=300,
        task_soft_time_limit=240,
        task_publish_retry=False,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        beat_schedule={
            "relay-outbox": {
                "task": f"{service}.relay_outbox",
                "schedule": settings.outbox_relay_interval_seconds,
                "options": {"expires": max(5.0, settings.outbox_relay_interval_seconds * 5)},
            },
            "purge-event-tables": {
                "task": f"{service}.purge_event_tables",
                "schedule": settings.event_retention_interval_seconds,
                # a run still queued when the next is due is dropped: the next does its work
                "options": {"expires": settings.event_retention_interval_seconds},
            },
        },
    )
    runtime.celery = celery
    app.extensions["celery"] = celery
    _register_plumbing_tasks(celery, runtime)
    _count_task_outcomes(service)
    _serve_worker_metrics(runtime)
    return celery


def send_event(celery: Celery, service: str, event: Event) -> None:
    """Put ``event`` on ``service``'s queue (fails fast if the broker is down)."""
    celery.send_task(
        consume_task_name(service),
        args=[event.to_message()],
        queue=service,
        task_id=f"{event.id}:{service}",
        headers={REQUEST_ID_TASK_HEADER: event.request_id},
        retry=False,
        # What logs and monitoring show of the arguments: without it Celery builds a
        # truncated repr of every argument on each send (2 ms for a batch of 50 events).
        argsrepr=f"({event.type} {event.id})",
        kwargsrepr="{}",
    )


def consume_batch_task_name(service: str) -> str:
    return f"{service}.consume_events"


def batch_task_id(service: str, events: Sequence[Event]) -> str:
    """The same events for the same service always get the same task id."""
    digest = hashlib.sha256("\n".join(event.id for event in events).encode()).hexdigest()
    return f"batch:{service}:{len(events)}:{digest[:32]}"


def send_events(celery: Celery, service: str, events: Sequence[Event]) -> None:
    """Put ``events`` on ``service``'s queue as one ``consume_events`` task (fails fast)."""
    celery.send_task(
        consume_batch_task_name(service),
        args=[[event.to_message() for event in events]],
        queue=service,
        task_id=batch_task_id(service, events),
        retry=False,
        argsrepr=f"({len(events)} events)",  # as in send_event
        kwargsrepr="{}",
    )


@dataclass(frozen=True)
class RelayReport:
    """What one relay run did: events sent, and the broker's refusal that stopped it, if any."""

    sent: int
    broker_error: Exception | None = None


def relay_outbox_now(
    runtime: ServiceRuntime,
    celery: Celery,
    *,
    outbox: Outbox | None = None,
    check_overdue: bool = True,
) -> RelayReport:
    """Send everything ``outbox`` (the service's by default) holds, a batch at a time.

    What every relay runs: the beat task ``<service>.relay_outbox`` and the
    relay process (:mod:`services.common.relay_loop`). First (with
    ``check_overdue``) the events sent long ago that no consumer confirmed are
    marked unsent again, then passes of ``OUTBOX_RELAY_BATCH_SIZE`` run until
    one finds less than a full batch. A broker that refuses an event ends the
    run (the event waits in the outbox) and is reported, so a caller can tell
    an outage from an empty outbox.
    """
    outbox = outbox if outbox is not None else runtime.outbox
    if outbox is None:
        return RelayReport(sent=0)
    settings = runtime.settings
    broker_error: Exception | None = None
    if check_overdue:
        try:
            outbox.resend_overdue(
                runtime.db, runtime.receipts, limit=settings.outbox_relay_batch_size
            )
        except RedisError as exc:
            log.warning("unconfirmed events not checked: the broker is unreachable: %s", exc)
            broker_error = exc
    total = 0
    while True:
        relayed = outbox.relay_batch(
            runtime.db,
            partial(send_event, celery),
            batch_size=settings.outbox_relay_batch_size,
            send_batch=partial(send_events, celery),
            delivery_batch_size=settings.event_delivery_batch_size,
            receipts=runtime.receipts,
        )
        total += relayed.sent
        if relayed.refusal is not None:
            return RelayReport(sent=total, broker_error=relayed.refusal)
        if relayed.sent < settings.outbox_relay_batch_size:
            return RelayReport(sent=total, broker_error=broker_error)


def _register_plumbing_tasks(celery: Celery, runtime: ServiceRuntime) -> None:
    service = runtime.service
    settings = runtime.settings

    @celery.task(name=f"{service}.relay_outbox", acks_late=False, ignore_result=True)
    def relay_outbox() -> int:
        """Send everything the outbox holds, a batch at a time (the relay's safety net)."""
        return relay_outbox_now(runtime, celery).sent

    @celery.task(name=consume_task_name(service), bind=True, max_retries=None)
    def consume_event(self: Task, message: dict[str, Any]) -> str:  # type: ignore[type-arg]
        """Apply an event once; retry with backoff; dead-letter after the last try."""
        assert runtime.consumer is not None
        event = Event.from_message(message)
        try:
            applied = runtime.consumer.apply(runtime.db, event)
        except Exception as exc:
            retries = self.request.retries
            if retries >= settings.event_max_retries:
                runtime.consumer.dead_letter(
                    runtime.db,
                    kind="event",
                    name=event.type,
                    reference=event.id,
                    payload=message,
                    error="".join(traceback.format_exception(exc)),
                    attempts=retries + 1,
                )
                runtime.receipts.confirm(service, [event])
                TASK_OUTCOMES.labels(service, self.name, "dead_letter").inc()
                log.error(
                    "event %s (%s) dead-lettered after %d attempts: %s",
                    event.id,
                    event.type,
                    retries + 1,
                    exc,
                )
                return "dead_lettered"
            countdown = backoff_seconds(settings.event_retry_backoff_seconds, retries)
            log.warning(
                "event %s (%s) failed (attempt %d), retrying in %.1fs: %s",
                event.id,
                event.type,
                retries + 1,
                countdown,
                exc,
            )
            raise self.retry(exc=exc, countdown=countdown) from exc
        runtime.receipts.confirm(service, [event])
        return "applied" if applied else "duplicate"

    _register_batch_task(celery, runtime)
    _register_purge_task(celery, runtime)


def _register_batch_task(celery: Celery, runtime: ServiceRuntime) -> None:
    service = runtime.service
    settings = runtime.settings

    @celery.task(
        name=consume_batch_task_name(service),
        bind=True,
        max_retries=settings.event_max_retries,
    )
    def consume_events(self: Task, messages: list[dict[str, Any]]) -> str:  # type: ignore[type-arg]
        """Apply a batch in one transaction; each event that fails goes on alone.

        A failed event is re-sent as a ``consume_event`` task, which retries it
        with backoff and dead-letters it, so it never blocks or repeats the
        events beside it. If the transaction itself fails (the commit, the
        connection), nothing was applied and every event goes on alone.
        """
        assert runtime.consumer is not None
        events = [Event.from_message(message) for message in messages]
        try:
            outcome = runtime.consumer.apply_batch(runtime.db, events)
        except Exception as exc:
            log.warning("a batch of %d events failed whole; each goes alone: %s", len(events), exc)
            failed = events
            applied = 0
        else:
            failed = [event for event, _ in outcome.failed]
            applied = len(outcome.applied)
            runtime.receipts.confirm(service, [*outcome.applied, *outcome.duplicates])
        try:
            for event in failed:
                send_event(celery, service, event)
        except Exception as exc:
            # The broker refused: run the batch again later; what committed is skipped.
            if self.request.retries >= settings.event_max_retries:
                for event in failed:
                    runtime.consumer.dead_letter(
                        runtime.db,
                        kind="event",
                        name=event.type,
                        reference=event.id,
                        payload=event.to_message(),
                        error="".join(traceback.format_exception(exc)),
                        attempts=self.request.retries + 1,
                    )
                runtime.receipts.confirm(service, failed)
                return "dead_lettered"
            countdown = backoff_seconds(settings.event_retry_backoff_seconds, self.request.retries)
            raise self.retry(exc=exc, countdown=countdown) from exc
        return f"applied {applied}, sent alone {len(failed)}, of {len(events)}"


def _register_purge_task(celery: Celery, runtime: ServiceRuntime) -> None:
    service = runtime.service
    # A run never outlasts the interval, so runs do not pile up on the queue.
    budget = min(PURGE_TIME_BUDGET_SECONDS, runtime.settings.event_retention_interval_seconds)

    @celery.task(
        name=f"{service}.purge_event_tables",
        acks_late=True,
        ignore_result=True,
        soft_time_limit=int(budget) + 60,
        time_limit=int(budget) + 90,
    )
    def purge_event_tables() -> str:
        """Delete the sent outbox rows and processed-event rows past their retention.

        No retries: a run that fails deletes nothing more than a batch, loses
        nothing, and the next run (``EVENT_RETENTION_INTERVAL_SECONDS``) starts over.
        """
        report = purge_service_event_tables(runtime, time_budget_seconds=budget)
        if report is None:
            return "no event tables"
        return (
            f"purged {report.outbox_events} outbox events, "
            f"{report.processed_events} processed events"
            f"{'' if report.complete else ' (more left)'}"
        )


_SIGNALS_CONNECTED: set[str] = set()


def _serve_worker_metrics(runtime: ServiceRuntime) -> None:
    """Serve ``/metrics`` from the worker's main process when WORKER_METRICS_PORT is set.

    A worker container has no web app to scrape; with PROMETHEUS_MULTIPROC_DIR
    set, this sums the figures of every pool process of the worker.
    """
    port = runtime.settings.worker_metrics_port
    if not port:
        return

    def start_metrics_server(**_: Any) -> None:
        start_http_server(port, registry=scrape_registry(runtime.scrape_time_gauges()))
        log.info("worker metrics on port %d", port)

    signals.worker_init.connect(start_metrics_server, weak=False)


def _count_task_outcomes(service: str) -> None:
    """Count outcomes per task, and pass the request id on to tasks sent from a task."""
    if service in _SIGNALS_CONNECTED:
        return
    _SIGNALS_CONNECTED.add(service)

    def on_success(sender: Task | None = None, **_: Any) -> None:  # type: ignore[type-arg]
        TASK_OUTCOMES.labels(service, getattr(sender, "name", "?"), "success").inc()

    def on_retry(sender: Task | None = None, **_: Any) -> None:  # type: ignore[type-arg]
        TASK_OUTCOMES.labels(service, getattr(sender, "name", "?"), "retry").inc()

    def on_failure(sender: Task | None = None, **_: Any) -> None:  # type: ignore[type-arg]
        TASK_OUTCOMES.labels(service, getattr(sender, "name", "?"), "failure").inc()

    signals.task_success.connect(on_success, weak=False)
    signals.task_retry.connect(on_retry, weak=False)
    signals.task_failure.connect(on_failure, weak=False)

    def add_request_id(headers: dict[str, Any] | None = None, **_: Any) -> None:
        request_id = current_request_id.get()
        if headers is not None and request_id and not headers.get(REQUEST_ID_TASK_HEADER):
            headers[REQUEST_ID_TASK_HEADER] = request_id

    signals.before_task_publish.connect(add_request_id, weak=False)

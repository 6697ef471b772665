"""Prometheus metrics: requests, task outcomes, outbox backlog, dead letters, purges.

With ``PROMETHEUS_MULTIPROC_DIR`` set (gunicorn workers and the Celery worker
of one service share it), ``/metrics`` sums every process of the service,
so task outcomes recorded in the worker show up beside the web figures.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Sequence

from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

# Metric objects are process-wide (one set per process, labelled by service):
# in multiprocess mode their values live in files, not in a registry.
_METRICS_REGISTRY = CollectorRegistry(auto_describe=True)

HTTP_REQUESTS = Counter(
    "fanfare_http_requests_total",
    "HTTP requests served, by service, endpoint, method and status.",
    ["service", "endpoint", "method", "status"],
    registry=_METRICS_REGISTRY,
)
HTTP_LATENCY = Histogram(
    "fanfare_http_request_duration_seconds",
    "Time to answer an HTTP request, by service and endpoint.",
    ["service", "endpoint"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=_METRICS_REGISTRY,
)
TASK_OUTCOMES = Counter(
    "fanfare_task_outcomes_total",
    "Celery task outcomes (success, retry, failure, dead_letter), by service and task.",
    ["service", "task", "outcome"],
    registry=_METRICS_REGISTRY,
)


class _ScrapeTimeGauge(Collector):
    """A per-service gauge read when Prometheus scrapes; NaN if it cannot be read then."""

    name: str
    documentation: str

    def __init__(self, service: str, read: Callable[[], int]) -> None:
        self.service = service
        self.read = read

    def collect(self) -> Iterable[Metric]:
        family = GaugeMetricFamily(self.name, self.documentation, labels=["service"])
        try:
            family.add_metric([self.service], float(self.read()))
        except Exception:
            family.add_metric([self.service], float("nan"))
        yield family


class OutboxBacklogCollector(_ScrapeTimeGauge):
    """Reads the number of unsent outbox events at scrape time."""

    name = "fanfare_outbox_backlog"
    documentation = "Outbox events written but not yet relayed to the broker."


class DeadLettersCollector(_ScrapeTimeGauge):
    """Reads the number of dead letters nobody has dealt with yet, at scrape time."""

    name = "fanfare_dead_letters"
    documentation = (
        "Work parked in dead_letters after its retries and not yet done or discarded "
        "(fanfare events dead-letters list)."
    )


EVENT_ROWS_PURGED = Counter(
    "fanfare_event_rows_purged_total",
    "Rows the periodic retention purge deleted, by service and table "
    "(outbox_events, processed_events, dead_letters).",
    ["service", "table"],
    registry=_METRICS_REGISTRY,
)


def scrape_registry(extra: Iterable[Collector] = ()) -> CollectorRegistry:
    """What ``/metrics`` shows: this process's figures, or every process's."""
    registry = CollectorRegistry()
    multiproc_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if multiproc_dir:
        MultiProcessCollector(registry, path=multiproc_dir)  # type: ignore[no-untyped-call]
    else:
        registry.register(_ProcessMetrics())
    for collector in extra:
        registry.register(collector)
    return registry


class _ProcessMetrics(Collector):
    def collect(self) -> Iterable[Metric]:
        yield from _METRICS_REGISTRY.collect()


def init_metrics(app: Flask, *, service: str, extra: Sequence[Collector] = ()) -> None:
    """Time every request and serve ``GET /metrics`` (with ``extra`` read at scrape time)."""

    @app.before_request
    def _start_timer() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def _record(response: Response) -> Response:
        started = g.get("request_started")
        endpoint = request.url_rule.rule if request.url_rule is not None else "<unmatched>"
        HTTP_REQUESTS.labels(service, endpoint, request.method, str(response.status_code)).inc()
        if started is not None:
            HTTP_LATENCY.labels(service, endpoint).observe(time.perf_counter() - started)
        return response

    def metrics_view() -> Response:
        body = generate_latest(scrape_registry(extra))
        return Response(body, mimetype=CONTENT_TYPE_LATEST)

    metrics_view._fanfare_public = True  # type: ignore[attr-defined]
    app.add_url_rule("/metrics", "metrics", metrics_view, methods=["GET"])

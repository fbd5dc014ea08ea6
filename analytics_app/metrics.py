"""Prometheus metrics at /metrics, correct under several gunicorn workers.

With ``PROMETHEUS_MULTIPROC_DIR`` set (gunicorn, see ``gunicorn_conf.py``) every worker writes
its counters to files there and /metrics sums them; without it (one process) the default
registry serves. Queue length and rollup lag are read live at scrape time, once, whichever
worker answers.
"""

import contextlib
import os
import time
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from flask import Response, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily

from .extensions import db
from .reports import stored
from .reports.periods import day_in, zone

REQUEST_SECONDS = Histogram(
    "analytics_request_duration_seconds",
    "Time to answer a request, by endpoint.",
    ["endpoint", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
INGEST_BATCHES = Counter(
    "analytics_ingest_batches_total", "Ingest requests by outcome.", ["outcome"]
)
INGEST_EVENTS = Counter(
    "analytics_ingest_events_total",
    "Events received by outcome: stored, duplicate, dropped (erased user) or refused.",
    ["outcome"],
)
BATCH_SIZE = Histogram(
    "analytics_ingest_batch_size",
    "Events per accepted ingest request.",
    buckets=(1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 5000),
)
TASK_RUNS = Counter("analytics_task_runs_total", "Background task runs.", ["task"])
TASK_FAILURES = Counter("analytics_task_failures_total", "Background task failures.", ["task"])

INGEST_ENDPOINTS = {"ingest.Ingest", "ingest_alias"}
OUTCOMES = {
    200: "accepted",
    400: "malformed",
    401: "unauthorized",
    411: "length_required",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
    503: "unavailable",
}


# The labelled series of the hot path, looked up once rather than per request.
_EVENTS = {
    outcome: INGEST_EVENTS.labels(outcome)
    for outcome in ("stored", "duplicate", "dropped", "refused")
}


@lru_cache(maxsize=1024)
def _request_timer(endpoint, method, status):
    return REQUEST_SECONDS.labels(endpoint, method, status)


@lru_cache(maxsize=64)
def _batch_counter(outcome):
    return INGEST_BATCHES.labels(outcome)


def record_ingest(outcome):
    """Count one accepted batch's events (called by the ingest view)."""
    BATCH_SIZE.observe(outcome.stored + outcome.duplicates + outcome.dropped)
    _EVENTS["stored"].inc(outcome.stored)
    _EVENTS["duplicate"].inc(outcome.duplicates)
    _EVENTS["dropped"].inc(outcome.dropped)


def record_refused(received):
    """Count the events of a refused batch."""
    _EVENTS["refused"].inc(received)


class LiveCollector:
    """Gauges computed at scrape time: queue length, rollup lag, pending rollup marks."""

    def __init__(self, app):
        self.app = app

    def collect(self):
        queue = GaugeMetricFamily("analytics_task_queue_length", "Tasks waiting in the queue.")
        lag = GaugeMetricFamily(
            "analytics_rollup_lag_seconds",
            "Seconds since the end of the newest rolled-up day (REPORT_TIMEZONE).",
        )
        marks = GaugeMetricFamily(
            "analytics_rollup_marks_pending", "Ingest marks the rollup has not consumed yet."
        )
        with self.app.app_context():
            # The queue store is down: the gauge is absent rather than wrong.
            with contextlib.suppress(Exception):
                queue.add_metric([], self.app.extensions["huey"].pending_count())
            try:
                tz = self.app.config["REPORT_TIMEZONE"]
                last = stored.last_rolled_date(tz)
                if last is not None:
                    end = day_in(last + timedelta(days=1), zone(tz)).start
                    lag.add_metric([], (datetime.now(UTC) - end).total_seconds())
                marks.add_metric([], len(stored.read_marks()))
            except Exception:
                db.session.rollback()
            finally:
                db.session.remove()
        yield from (queue, lag, marks)


def _start():
    g.metrics_started = time.perf_counter()


def _observe(response):
    endpoint = request.endpoint or "unmatched"
    if endpoint == "metrics":
        return response
    elapsed = time.perf_counter() - g.get("metrics_started", time.perf_counter())
    _request_timer(endpoint, request.method, response.status_code).observe(elapsed)
    if endpoint in INGEST_ENDPOINTS and request.method == "POST":
        _batch_counter(OUTCOMES.get(response.status_code, "other")).inc()
    return response


def _process_registry():
    """This process's metrics (summed over sibling processes in multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def metrics_view():
    """Expose every metric in the Prometheus text format."""
    live = CollectorRegistry()
    live.register(LiveCollector(current_app))
    body = generate_latest(_process_registry()) + generate_latest(live)
    return Response(body, mimetype=CONTENT_TYPE_LATEST)


def serve_worker_metrics(app, port):
    """Serve a worker's task counters and the live gauges over HTTP, in a background thread."""
    registry = _process_registry()
    registry.register(LiveCollector(app))
    start_http_server(port, registry=registry)


def init_app(app):
    """Time every request and serve /metrics."""
    app.before_request(_start)
    app.after_request(_observe)
    app.add_url_rule("/metrics", endpoint="metrics", view_func=metrics_view)

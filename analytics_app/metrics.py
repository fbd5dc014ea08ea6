"""Prometheus metrics: what the service counts, with label values from fixed sets only.

Nothing here is served on the public listener (see ``metrics_server``). Under gunicorn
``PROMETHEUS_MULTIPROC_DIR`` is set (``gunicorn_conf.py``): every worker writes its counters
there and the master serves their sum. The worker process serves its task counters and the
gauges read live at scrape time (queue length, rollup lag, pending rollup marks).

A request's labels are the matched URL rule's endpoint (``unmatched`` when none matched, so an
invented path adds nothing), its method when it is a standard one (``other`` otherwise) and
the status the app answered; every outcome series exists from the start, at 0.
"""

import contextlib
import math
import os
import time
from datetime import UTC, datetime
from functools import lru_cache

from flask import g, request
from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily

from . import metrics_server
from .extensions import db
from .rollup import protocol

REQUEST_SECONDS = Histogram(
    "analytics_request_duration_seconds",
    "Time to answer a request, by endpoint (the matched URL rule).",
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
TASK_SECONDS = Histogram(
    "analytics_task_duration_seconds",
    "Time a background task ran, by task.",
    ["task"],
    buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600),
)
REPORT_READS = Counter(
    "analytics_report_reads_total",
    "Report, export and dashboard computations with a report replica configured, by the"
    " database that served them: the replica, or the primary when the replica lagged past"
    " REPORT_REPLICA_MAX_WAIT_MS or could not be reached.",
    ["database"],
)
for _database in ("replica", "primary"):
    REPORT_READS.labels(_database)
REDIS_FALLBACKS = Counter(
    "analytics_redis_fallback_total",
    "Operations done without Redis because it was unreachable, by component: rate-limit and"
    " sign-in counts kept per process, token revocations read from the database.",
    ["component"],
)
SIGNIN_THROTTLED = Counter(
    "analytics_signin_throttled_total",
    "Sign-in attempts refused by the throttle, by the count that held them back.",
    ["count"],
)
REPORT_CACHE = Counter(
    "analytics_report_cache_total",
    "Report cache lookups by result: hit, miss (computed and stored), or error (cache"
    " unreachable, computed).",
    ["result"],
)

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"
INGEST_ENDPOINTS = frozenset({"ingest.Ingest", "ingest_alias.Ingest"})
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
OTHER_OUTCOME = "other"

# Every outcome's series from the start (a rate over a series that appears with its first
# event misses that event), looked up once rather than per request.
_BATCHES = {
    outcome: INGEST_BATCHES.labels(outcome) for outcome in [*OUTCOMES.values(), OTHER_OUTCOME]
}
_EVENTS = {
    outcome: INGEST_EVENTS.labels(outcome)
    for outcome in ("stored", "duplicate", "dropped", "refused")
}
FALLBACKS = ("ingest_rate_limit", "signin_throttle", "token_revocations")
_FALLBACKS = {component: REDIS_FALLBACKS.labels(component) for component in FALLBACKS}
THROTTLE_COUNTS = ("account_address", "address", "account")
_THROTTLED = {count: SIGNIN_THROTTLED.labels(count) for count in THROTTLE_COUNTS}

_REPORT_CACHE = {result: REPORT_CACHE.labels(result) for result in ("hit", "miss", "error")}


def record_report_cache(result):
    """Count one report cache lookup: hit, miss or error."""
    _REPORT_CACHE[result].inc()


def record_fallback(component):
    """Count one operation a component did without Redis."""
    _FALLBACKS[component].inc()


def record_throttled(count):
    """Count one sign-in attempt the throttle refused, by the count that refused it."""
    _THROTTLED[count].inc()


def declare_task(name):
    """Create a task's series at 0, before its first run."""
    TASK_RUNS.labels(name)
    TASK_FAILURES.labels(name)
    TASK_SECONDS.labels(name)


@lru_cache(maxsize=4096)
def _request_timer(endpoint, method, status):
    return REQUEST_SECONDS.labels(endpoint, method, status)


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
            "Seconds since the instant up to which rollups have read events (+Inf until the"
            " first rollup has run).",
        )
        marks = GaugeMetricFamily(
            "analytics_rollup_marks_pending", "Ingest marks the rollup has not consumed yet."
        )
        with self.app.app_context():
            # A store that is down leaves its gauges absent rather than wrong.
            with contextlib.suppress(Exception):
                queue.add_metric([], self.app.extensions["huey"].pending_count())
            try:
                covered = protocol.covered_before()
                since = (datetime.now(UTC) - covered).total_seconds() if covered else math.inf
                lag.add_metric([], since)
                marks.add_metric([], protocol.pending_marks())
            except Exception:
                db.session.rollback()
            finally:
                db.session.remove()
        yield from (queue, lag, marks)


def _start():
    g.metrics_started = time.perf_counter()


def _observe(response):
    endpoint = request.endpoint or UNMATCHED
    method = request.method if request.method in METHODS else "other"
    elapsed = time.perf_counter() - g.get("metrics_started", time.perf_counter())
    _request_timer(endpoint, method, response.status_code).observe(elapsed)
    if endpoint in INGEST_ENDPOINTS and method == "POST":
        _BATCHES[OUTCOMES.get(response.status_code, OTHER_OUTCOME)].inc()
    return response


def serve_worker_metrics(app, bind):
    """Serve a worker's task counters and the live gauges on ``bind``; return the server."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = metrics_server.summed_registry()
    else:
        registry = REGISTRY
    registry.register(LiveCollector(app))
    return metrics_server.serve(bind, registry)


def init_app(app):
    """Time every request."""
    app.before_request(_start)
    app.after_request(_observe)

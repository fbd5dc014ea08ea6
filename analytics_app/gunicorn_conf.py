"""gunicorn settings for production: ``gunicorn -c python:analytics_app.gunicorn_conf wsgi:app``.

Every setting can be overridden on the command line or with ``GUNICORN_CMD_ARGS``. Besides the
server's own settings: the workers' Prometheus metrics, summed by the master and served on
``METRICS_BIND`` (never on the public listener), JSON logs for gunicorn's own messages, and
gunicorn's own error answers in the service's JSON envelope.

gunicorn listens on loopback: nginx (docs/nginx/) stands in front of it, since a sync worker
holds one connection from its first byte to its last and a few slow clients would hold them all.
"""

import json
import os
import shutil
import tempfile
from http import HTTPStatus
from pathlib import Path

from gunicorn import util

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))  # Excel exports can take a while
graceful_timeout = 30
# A worker's RSS creeps up under sustained load although the Python objects it holds do not
# (tracemalloc: flat over thousands of mixed requests): the growth is native memory, allocator
# fragmentation below our code. Recycling each worker after about this many requests bounds it
# (bench/README.md, "Soak"); the jitter keeps the workers from restarting all at once. 0: never.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "10000"))
max_requests_jitter = max_requests // 10
keepalive = 5
# gunicorn's largest request line (its default, 4094, refuses longer ones with a 414 before the
# app sees them); report filters fit comfortably either way. nginx's own limit is the same.
limit_request_line = 8190
accesslog = None  # the app logs one JSON line per request itself
control_socket_disable = True

# Where the workers write their metrics, set before anything imports prometheus_client (it
# picks its storage at import). Unless the operator names a directory, the master makes one of
# its own (named by its pid, so a configuration reload finds the same) and removes it on exit.
METRICS_BIND = os.environ.get("METRICS_BIND", "127.0.0.1:9100")
_OWN_METRICS_DIR = Path(tempfile.gettempdir()) / f"analytics-metrics-{os.getpid()}"
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(_OWN_METRICS_DIR))


_OWN_ERRORS = {
    400: "the request could not be read",
    414: "the request line is too long",
    431: "the request headers are too large",
}


def write_json_error(sock, status_int, reason, mesg):
    """Answer a request gunicorn itself refuses (a bad request line, too many headers…) in the
    service's error envelope, with the headers every answer carries; its HTML page echoed the
    offending input. gunicorn has no setting for this body: ``util.write_error`` writes it."""
    phrase = HTTPStatus(status_int).phrase
    message = _OWN_ERRORS.get(status_int, phrase.lower())
    body = json.dumps({"code": status_int, "status": phrase, "message": message}).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        "X-Content-Type-Options: nosniff\r\n"
        "X-Frame-Options: DENY\r\n"
        "Content-Security-Policy: default-src 'none'; frame-ancestors 'none'\r\n"
        "Cache-Control: no-store\r\n\r\n"
    )
    util.write_nonblock(sock, head.encode("latin-1") + body)


util.write_error = write_json_error


def on_starting(server):
    """Start from an empty metrics directory: stale files would add old counts."""
    metrics_dir = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(mode=0o700, parents=True)


def when_ready(server):
    """Serve the sum of the workers' metrics on METRICS_BIND, from the master."""
    if METRICS_BIND:
        from analytics_app import metrics_server

        metrics_server.serve(METRICS_BIND, metrics_server.summed_registry())
        server.log.info("Serving metrics at http://%s/metrics", METRICS_BIND)


def post_worker_init(worker):
    """Compile the templates and build the charts once before the worker takes a request:
    otherwise the first pages each worker serves (after every start and recycling) pay it."""
    from flask import Flask

    from analytics_app import warm_up

    if isinstance(worker.wsgi, Flask):  # the app itself (gunicorn may be given another)
        warm_up(worker.wsgi)


def child_exit(server, worker):
    """Let Prometheus drop a dead worker's live gauges (its counters keep counting)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    """Remove the metrics directory the master made, or empty the operator's."""
    metrics_dir = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    if metrics_dir == _OWN_METRICS_DIR:
        shutil.rmtree(metrics_dir, ignore_errors=True)
    else:
        for leftover in metrics_dir.glob("*.db"):
            leftover.unlink(missing_ok=True)


# gunicorn's own lines (start-up, worker boots and deaths) as JSON too. Its access lines stay
# off: with a logging config gunicorn would write one for every request, beside the app's own
# (which carries the request id and subject). The root logger is left to the app
# (analytics_app.logs), whose handler adds those fields.
_JSON_HANDLER = {
    "class": "logging.StreamHandler",
    "formatter": "json",
    "filters": ["request_context"],
    "stream": "ext://sys.stderr",
}
logconfig_dict = {
    "root": {"level": "WARNING", "handlers": []},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["error_console"], "propagate": False},
        "gunicorn.access": {"level": "WARNING", "handlers": ["console"], "propagate": False},
    },
    "handlers": {"console": _JSON_HANDLER, "error_console": _JSON_HANDLER},
    "filters": {"request_context": {"()": "analytics_app.logs.RequestContext"}},
    "formatters": {"json": {"()": "analytics_app.logs.JsonLines"}},
}

"""Structured logs: one JSON object per line from every process, with an ISO 8601 UTC ``time``.

The first app a process creates puts one handler on the root logger, so the app's records,
the libraries' (Huey, Alembic, Werkzeug) and gunicorn's own (``gunicorn_conf.py`` uses the same
formatter) all come out alike. Each record carries the request id and token subject when there
is a request. Request bodies, payloads, tokens and secrets are never logged; a request leaves
one access line (method, path, status, duration) and whatever the code logs while serving it.
``LOG_FORMAT=text`` gives plain lines for a terminal.
"""

import logging
import sys
import time
from datetime import UTC, datetime

from flask import g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter

access = logging.getLogger("analytics_app.access")

FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(subject)s"
RENAMED = {"asctime": "time", "levelname": "level", "name": "logger"}
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s %(subject)s]: %(message)s"


class JsonLines(JsonFormatter):
    """One JSON object per record; ``time`` like ``2026-12-06T15:22:04.961Z``, tracebacks inside."""

    def __init__(self, *_ignored, **_also_ignored):
        # Built by name from gunicorn's and Alembic's logging configs, which pass a format of
        # their own: the fields are always these.
        super().__init__(FIELDS, rename_fields=RENAMED, json_ensure_ascii=False)

    def formatTime(self, record, datefmt=None):
        moment = datetime.fromtimestamp(record.created, UTC)
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class RequestContext(logging.Filter):
    """Stamp every record with the current request's id and token subject (or '-')."""

    def filter(self, record):
        in_request = has_request_context()
        record.request_id = g.get("request_id", "-") if in_request else "-"
        record.subject = g.get("subject", "-") if in_request else "-"
        return True


class WithoutDevServerRequestLines(logging.Filter):
    """Drop the development server's own line per request: the app writes a JSON one."""

    def filter(self, record):
        return not str(record.msg).endswith('"%s" %s %s')


def handler(log_format):
    """A stderr handler in the given format, with the request context filter."""
    stream = logging.StreamHandler(sys.stderr)
    stream.setFormatter(JsonLines() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    stream.addFilter(RequestContext())
    return stream


def configure(log_format, level):
    """Send every logger's records to stderr in ``log_format`` (once per process)."""
    root = logging.getLogger()
    if not any(getattr(h, "analytics_handler", False) for h in root.handlers):
        stream = handler(log_format)
        stream.analytics_handler = True
        root.addHandler(stream)
        werkzeug = logging.getLogger("werkzeug")
        werkzeug.addFilter(WithoutDevServerRequestLines())
        # Werkzeug adds a plain handler of its own unless one answers at its level.
        werkzeug.setLevel(logging.INFO)
    logging.getLogger("analytics_app").setLevel(level)


def _start_timer():
    g.started = time.perf_counter()


def _log_request(response):
    if access.isEnabledFor(logging.INFO):
        access.info(
            "request",
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - g.get("started", 0)) * 1000, 2),
                "remote_addr": request.remote_addr,
            },
        )
    return response


def init_app(app):
    """Log the process's records as configured, and one access line per request."""
    configure(app.config["LOG_FORMAT"], app.config["LOG_LEVEL"])
    app.before_request(_start_timer)
    app.after_request(_log_request)

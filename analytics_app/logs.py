"""Structured logs: one JSON object per line, each carrying the request id and token subject.

Request bodies, payloads, tokens and secrets are never logged; a request leaves one access line
(method, path, status, duration) and whatever the code logs while serving it. ``LOG_FORMAT=text``
gives plain lines for a terminal.
"""

import logging
import sys
import time

from flask import g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter

access = logging.getLogger("analytics_app.access")

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s %(subject)s]: %(message)s"


class RequestContext(logging.Filter):
    """Stamp every record with the current request's id and token subject (or '-')."""

    def filter(self, record):
        in_request = has_request_context()
        record.request_id = g.get("request_id", "-") if in_request else "-"
        record.subject = g.get("subject", "-") if in_request else "-"
        return True


def handler(log_format):
    """A stderr handler in the given format, with the request context filter."""
    stream = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        stream.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(subject)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                json_ensure_ascii=False,
            )
        )
    else:
        stream.setFormatter(logging.Formatter(TEXT_FORMAT))
    stream.addFilter(RequestContext())
    return stream


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
    """Log the app's records as configured, and one access line per request."""
    root = logging.getLogger("analytics_app")
    root.setLevel(app.config["LOG_LEVEL"])
    if not any(getattr(h, "analytics_handler", False) for h in root.handlers):
        stream = handler(app.config["LOG_FORMAT"])
        stream.analytics_handler = True
        root.addHandler(stream)
        root.propagate = False
    app.before_request(_start_timer)
    app.after_request(_log_request)

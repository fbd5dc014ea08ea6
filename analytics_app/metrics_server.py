"""Serve Prometheus metrics on a listener of their own, never on the public one.

gunicorn's master serves the sum of its workers' metrics (``gunicorn_conf.when_ready``); a
worker process serves its own (``analytics worker --metrics-bind``). prometheus_client's server
negotiates the format from the scraper's ``Accept`` header (the text format 0.0.4 by default,
OpenMetrics when asked) and sends a well-formed ``Content-Type`` with it.
"""

import os

from prometheus_client import CollectorRegistry, multiprocess, start_http_server


def parse_bind(text):
    """Split ``HOST:PORT`` (or a bare ``PORT``, which means loopback) into ``(host, port)``."""
    host, _, port = text.strip().rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"{text!r} is not HOST:PORT, e.g. 127.0.0.1:9100")
    return host, int(port)


def summed_registry():
    """A registry summing every process's metrics in ``PROMETHEUS_MULTIPROC_DIR``."""
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=os.environ["PROMETHEUS_MULTIPROC_DIR"])
    return registry


def serve(bind, registry):
    """Serve ``registry`` over HTTP on ``bind`` in a daemon thread; return the server."""
    host, port = parse_bind(bind)
    server, _ = start_http_server(port, host, registry=registry)
    return server

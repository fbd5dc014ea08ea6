"""gunicorn settings for production: ``gunicorn -c python:analytics_app.gunicorn_conf wsgi:app``.

Every setting can be overridden on the command line or with ``GUNICORN_CMD_ARGS``. Sets up the
shared directory Prometheus needs to sum metrics across workers, and JSON logs for gunicorn's
own messages.
"""

import os
import shutil
import tempfile

bind = os.environ.get("BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))  # Excel exports can take a while
graceful_timeout = 30
keepalive = 5
# gunicorn's largest request line (its default, 4094, answers longer ones with an HTML 414
# before the app can); report filters fit comfortably either way.
limit_request_line = 8190
accesslog = None  # the app logs one JSON line per request itself
control_socket_disable = True

# Each worker writes its metrics here; /metrics sums them. Set before anything imports
# prometheus_client (it picks its storage at import). Start clean: stale files would add old
# counts.
_metrics_dir = os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="analytics-metrics-")
)
shutil.rmtree(_metrics_dir, ignore_errors=True)
os.makedirs(_metrics_dir, exist_ok=True)

# gunicorn's own lines (start-up, worker boots and deaths) as JSON too; it merges these keys
# over its defaults, so every handler name it uses is defined.
_JSON_HANDLER = {
    "class": "logging.StreamHandler",
    "formatter": "json",
    "stream": "ext://sys.stderr",
}
logconfig_dict = {
    "root": {"level": "INFO", "handlers": ["console"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["error_console"], "propagate": False},
        # The app writes its own access line (with request id and subject).
        "gunicorn.access": {"level": "WARNING", "handlers": ["console"], "propagate": False},
    },
    "handlers": {"console": _JSON_HANDLER, "error_console": _JSON_HANDLER},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        }
    },
}


def child_exit(server, worker):
    """Let Prometheus drop a dead worker's live gauges."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)

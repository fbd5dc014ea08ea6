"""Background work on Huey: the queue, its tasks and their schedule.

``RedisHuey`` when ``REDIS_URL`` is set, a SQLite store in ``instance/`` otherwise; messages
are JSON (``serializer.py``), since tasks take ids. Each app
gets its own Huey instance, so the tasks run inside that app's context; the worker is
``flask --app wsgi analytics worker``. Every task is safe to run twice and to retry.
"""

import functools
import logging
import sqlite3
import time
from pathlib import Path
from types import SimpleNamespace

from flask import current_app
from huey import RedisHuey, SqliteHuey, crontab
from huey.exceptions import TaskLockedException
from redis.exceptions import RedisError

from ..errors import AppError
from ..extensions import db
from ..job_lifecycle import fail
from ..metrics import TASK_FAILURES, TASK_RUNS, TASK_SECONDS, declare_task
from . import jobs
from .serializer import JsonSerializer

log = logging.getLogger(__name__)


def make_huey(config, instance_path):
    """Build the queue the config describes."""
    if config["REDIS_URL"]:
        huey = RedisHuey("analytics", url=config["REDIS_URL"], serializer=JsonSerializer())
    else:
        Path(instance_path).mkdir(parents=True, exist_ok=True)
        path = str(Path(instance_path) / "huey.db")
        huey = SqliteHuey("analytics", filename=path, serializer=JsonSerializer())
    huey.immediate = config["HUEY_IMMEDIATE"]
    return huey


def _in_app(app, huey, function, lock=None):
    """Run a job inside the app's context, alone when it names a lock; count and log each run.

    Each run leaves one log line: the task's name, its duration and its outcome (``ok``,
    ``skipped`` when another run holds the lock, ``failed`` with the traceback).
    """

    name = function.__name__
    declare_task(name)

    @functools.wraps(function)
    def run(*args, **kwargs):
        TASK_RUNS.labels(name).inc()
        started = time.perf_counter()
        outcome = "ok"
        with app.app_context():
            try:
                if lock is None:
                    return function(*args, **kwargs)
                with huey.lock_task(lock):
                    return function(*args, **kwargs)
            except TaskLockedException:
                outcome = "skipped"
                return None
            except Exception:
                outcome = "failed"
                TASK_FAILURES.labels(name).inc()
                log.exception("task %s failed", name, extra=_run_fields(name, started, outcome))
                raise
            finally:
                db.session.remove()
                TASK_SECONDS.labels(name).observe(time.perf_counter() - started)
                if outcome != "failed":
                    log.info("task %s %s", name, outcome, extra=_run_fields(name, started, outcome))

    return run


def _run_fields(name, started, outcome):
    return {
        "task": name,
        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        "outcome": outcome,
    }


class _FailureLoggedByTheTask(logging.Filter):
    """Drop Huey's line for a failed task: ``_in_app`` has logged it, named and timed."""

    def filter(self, record):
        return record.msg != "Unhandled exception in task %s."


def quiet_huey():
    """Leave the lines about task runs to ``_in_app``; keep the consumer's own (start, stop,
    schedule, queue errors)."""
    huey_log = logging.getLogger("huey")
    huey_log.setLevel(logging.WARNING)
    huey_log.addFilter(_FailureLoggedByTheTask())
    logging.getLogger("huey.consumer").setLevel(logging.INFO)


def tasks():
    """The current app's task handles: ``tasks().rollup()`` enqueues a rollup."""
    return current_app.extensions["tasks"]


class QueueUnavailableError(AppError):
    status = 503
    message = "the task queue is unavailable, retry later"

    def __init__(self):
        super().__init__(headers={"Retry-After": "5"})


def enqueue_job(task, job):
    """Queue ``task(job.id)``; if the queue is down, mark the job failed and answer 503."""
    try:
        task(job.id)
    except (RedisError, sqlite3.Error):
        log.warning("task queue unavailable; %s %s not queued", type(job).__name__, job.id)
        fail(job, "the task queue was unavailable")
        raise QueueUnavailableError() from None
    db.session.refresh(job)  # an inline (immediate) task may have finished it already
    return job


def init_app(app):
    """Create this app's queue and register its tasks and schedule."""
    huey = make_huey(app.config, app.instance_path)
    rollup = _in_app(app, huey, jobs.rollup, lock="rollup")
    cleanup = _in_app(app, huey, jobs.cleanup, lock="cleanup")
    partition = _in_app(app, huey, jobs.partition, lock="partition")
    app.extensions["huey"] = huey
    app.extensions["tasks"] = SimpleNamespace(
        rollup=huey.task(name="rollup", retries=3, retry_delay=30)(rollup),
        cleanup=huey.task(name="cleanup", retries=3, retry_delay=60)(cleanup),
        partition=huey.task(name="partition", retries=3, retry_delay=60)(partition),
        erase_user=huey.task(name="erase_user", retries=3, retry_delay=30)(
            _in_app(app, huey, jobs.erase_user)
        ),
        export=huey.task(name="export", retries=2, retry_delay=30)(_in_app(app, huey, jobs.export)),
    )
    # Every minute: today's counted stretch then trails the clock by LIVE_LAG plus at most a
    # minute, and that tail is what reports of today read raw (rollup/live.py). A run that
    # finds the previous one still going is skipped (the lock).
    huey.periodic_task(crontab(minute="*"), name="rollup-every-minute")(rollup)
    huey.periodic_task(crontab(minute="17"), name="cleanup-hourly")(cleanup)
    # Hourly, so a day's partition exists days ahead, and events that landed in the default
    # partition (a worker down for longer than that) move to their day's within the hour.
    huey.periodic_task(crontab(minute="7"), name="partition-hourly")(partition)

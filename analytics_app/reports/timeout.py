"""A time limit on report queries, so a slow report answers 503 instead of holding a worker.

``REPORT_STATEMENT_TIMEOUT_SECONDS`` bounds the SQL of every report, well inside gunicorn's
``GUNICORN_TIMEOUT``. On PostgreSQL it is ``statement_timeout``, set for the report's
transaction only (``set_config(…, true)`` is ``SET LOCAL`` with a bound value) and put back
afterwards, since the request's transaction may go on with other work. SQLite has no such
setting: a progress handler interrupts the running statement once the report's time is up,
so there the limit covers the report's statements together.
"""

import functools
import time
from contextlib import contextmanager

from flask import current_app, g
from sqlalchemy.exc import OperationalError

from ..errors import AppError
from ..extensions import db

# SQLite calls the progress handler every this many virtual-machine instructions (~1 ms).
SQLITE_PROGRESS_STEPS = 10_000


class ReportTimeoutError(AppError):
    status = 503

    def __init__(self, seconds):
        super().__init__(
            f"the report took longer than {seconds:g} s; retry later or narrow the range",
            headers={"Retry-After": str(max(1, round(seconds)))},
        )


def _timed_out(error):
    """Whether a database error is the limit's own cancellation."""
    cause = error.orig
    return type(cause).__name__ == "QueryCanceled" or str(cause) == "interrupted"


@contextmanager
def _postgresql(connection, seconds):
    previous = connection.exec_driver_sql("SHOW statement_timeout").scalar()
    connection.exec_driver_sql(
        "SELECT set_config('statement_timeout', %(limit)s, true)",
        {"limit": f"{round(seconds * 1000)}ms"},
    )
    yield
    connection.exec_driver_sql(
        "SELECT set_config('statement_timeout', %(limit)s, true)", {"limit": previous}
    )


@contextmanager
def _sqlite(connection, seconds):
    deadline = time.monotonic() + seconds
    raw = connection.connection.dbapi_connection
    raw.set_progress_handler(lambda: time.monotonic() > deadline, SQLITE_PROGRESS_STEPS)
    try:
        yield
    finally:
        raw.set_progress_handler(None, 0)


@contextmanager
def statement_timeout(seconds=None):
    """Run the block's report queries under the time limit; past it, raise ReportTimeoutError.

    The limit is the session's connection's (the replica's while ``source.on_replica`` routes
    reads there); a block nested in another on the same connection runs under the outer one.
    """
    connection = db.session.connection()
    limited = g.setdefault("report_time_limited", set())
    key = id(connection.connection.dbapi_connection)
    if key in limited:
        yield
        return
    seconds = seconds or current_app.config["REPORT_STATEMENT_TIMEOUT_SECONDS"]
    limit = _postgresql if connection.dialect.name == "postgresql" else _sqlite
    limited.add(key)
    try:
        with limit(connection, seconds):
            yield
    except OperationalError as error:
        if not _timed_out(error):
            raise
        db.session.rollback()
        raise ReportTimeoutError(seconds) from error
    finally:
        limited.discard(key)


def bounded(compute):
    """``compute`` run under the statement time limit."""

    @functools.wraps(compute)
    def run():
        with statement_timeout():
            return compute()

    return run

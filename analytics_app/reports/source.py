"""Where the read side reads: a streaming replica (``REPORT_DATABASE_URL``) or the primary.

Reports, exports and the dashboard read through the replica when one is configured; ingest,
rollups, erasure and jobs always use the primary. A replica lags, so before its first read a
request asks the primary how far its WAL goes (``pg_current_wal_insert_lsn()``: past every
commit acknowledged so far) and waits until the replica has replayed that far
(``pg_last_wal_replay_lsn()``), for at most ``REPORT_REPLICA_MAX_WAIT_MS``. What the request
then reads is at least as new as what the primary held when it began: every ingest answered
before it, a rollup's marks together with its figures, a finished erasure. Read your writes
holds, cache or no cache, since a cached answer was computed in the same way. A replica that
lags longer, or cannot be reached, is passed over: the request reads the primary, the log says
so and ``analytics_report_reads_total{database="primary"}`` counts it.
"""

import logging
import time
from contextlib import contextmanager

import sqlalchemy as sa
from flask import current_app, g

from ..config import REPORT_BIND
from ..extensions import db
from ..metrics import REPORT_READS

log = logging.getLogger(__name__)

_PRIMARY_LSN = sa.text("SELECT pg_current_wal_insert_lsn()::text")
# A server that is not in recovery is a primary itself: nothing to wait for.
_REPLAYED = sa.text(
    "SELECT coalesce(pg_last_wal_replay_lsn() >= CAST(:lsn AS pg_lsn), NOT pg_is_in_recovery())"
)
_POLL_SECONDS = 0.005


def _replica():
    return db.engines.get(REPORT_BIND) if current_app.config["SQLALCHEMY_BINDS"] else None


def caught_up_engine():
    """The replica's engine once it has replayed the primary's WAL as of now; else the
    primary's (no replica configured, lagging past the wait, or unreachable)."""
    replica = _replica()
    if replica is None:
        return db.engine
    wait = current_app.config["REPORT_REPLICA_MAX_WAIT_MS"] / 1000
    try:
        with db.engine.connect() as primary:
            lsn = primary.execute(_PRIMARY_LSN).scalar()
        deadline = time.monotonic() + wait
        with replica.connect() as connection:
            while not connection.execute(_REPLAYED, {"lsn": lsn}).scalar():
                if time.monotonic() >= deadline:
                    log.warning(
                        "report replica behind the primary after %s ms: reading the primary",
                        round(wait * 1000),
                    )
                    REPORT_READS.labels("primary").inc()
                    return db.engine
                time.sleep(_POLL_SECONDS)
    except sa.exc.DBAPIError as error:
        log.warning(
            "report replica unreachable, reading the primary: %s", str(error).splitlines()[0]
        )
        REPORT_READS.labels("primary").inc()
        return db.engine
    REPORT_READS.labels("replica").inc()
    return replica


@contextmanager
def on_replica():
    """Send the session's reads in the block to the caught-up replica (the primary without
    one); blocks nest, the outermost one decides."""
    if "report_engine" in g:
        yield
        return
    engine = caught_up_engine()
    g.report_engine = engine if engine is not db.engine else None
    try:
        yield
    finally:
        g.pop("report_engine", None)

"""Retention: remove events and metrics past their configured age.

On PostgreSQL the partitions of events wholly past retention are detached and dropped
(``partitions``): no row by row deletion, no WAL for them, nothing left to vacuum. What
remains past retention (the partition the cutoff falls in, events waiting in the default
partition, and SQLite's one table) is deleted in short batches: each its own small transaction
(a ``DELETE`` of at most ``BATCH_SIZE`` rows found through the ``ts`` index), so ingestion is
never locked out for long. Deleted events take their client ids along. Rollups of the deleted
events' days are kept: metrics, and the activity the rollup stores beside them, outlive
events on purpose, and go at ``METRICS_RETENTION_DAYS``. Whatever deletes anything bumps the
cold report generation in its transaction (``rollup.protocol``): cached reports reading those
days are out of date.
"""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from . import partitions
from .exports import jobs as export_jobs
from .extensions import db
from .models import DailyMetric
from .models.types import Timestamp
from .rollup import activity, breakdowns, funnels, protocol

BATCH_SIZE = 5000

# On PostgreSQL rows are found by the primary key (user_id, ts, id); ``ts`` in the outer
# condition lets the planner skip the partitions after the cutoff.
_PG_EVENTS = sa.text("""
    WITH doomed AS (
        SELECT user_id, ts, id FROM events WHERE ts < :cutoff LIMIT :limit
    ), gone AS (
        DELETE FROM events e USING doomed d
        WHERE e.ts < :cutoff AND e.user_id = d.user_id AND e.ts = d.ts AND e.id = d.id
        RETURNING e.client_id
    ), ids AS (
        DELETE FROM event_ids WHERE client_id = ANY (ARRAY(SELECT client_id FROM gone))
    )
    SELECT count(*) FROM gone
""").bindparams(sa.bindparam("cutoff", type_=Timestamp))
_SQLITE_EVENTS = sa.text("""
    DELETE FROM events WHERE id IN (SELECT id FROM events WHERE ts < :cutoff LIMIT :limit)
""").bindparams(sa.bindparam("cutoff", type_=Timestamp))


def _in_batches(delete_batch, progress=None):
    deleted = 0
    while True:
        count = delete_batch()
        if count:
            protocol.bump_cold()
        db.session.commit()
        deleted += count
        if progress:
            progress(count)
        if count < BATCH_SIZE:
            return deleted


def delete_events_in_batches(cutoff, progress=None):
    """Delete the events before ``cutoff`` (and their client ids) row by row, ``BATCH_SIZE`` a
    transaction; return how many. What is left after dropping partitions goes this way."""
    return _in_batches(lambda: _delete_events(cutoff), progress)


def _delete_events(cutoff):
    params = {"cutoff": cutoff, "limit": BATCH_SIZE}
    if partitions.partitioned():
        return db.session.execute(_PG_EVENTS, params).scalar()
    return db.session.execute(_SQLITE_EVENTS, params).rowcount


def _delete_metrics(cutoff):
    ids = sa.select(DailyMetric.id).where(DailyMetric.date < cutoff).limit(BATCH_SIZE)
    return db.session.execute(sa.delete(DailyMetric).where(DailyMetric.id.in_(ids))).rowcount


def clean_up(progress=None):
    """Remove what is past retention; return how many events, metrics and export files."""
    config = current_app.config
    now = datetime.now(UTC)
    event_cutoff = now - timedelta(days=config["EVENT_RETENTION_DAYS"])
    metric_cutoff = (now - timedelta(days=config["METRICS_RETENTION_DAYS"])).date()
    dropped = partitions.drop_before(event_cutoff)
    breakdowns.forget_before(metric_cutoff)
    funnels.forget_before(metric_cutoff)
    if progress and dropped:
        progress(dropped)
    return {
        "events": dropped + delete_events_in_batches(event_cutoff, progress),
        "metrics": _in_batches(lambda: _delete_metrics(metric_cutoff), progress),
        "activity_days": activity.forget_before(metric_cutoff),
        "exports": export_jobs.expire_finished(),
    }

"""Retention: delete events and metrics past their configured age, in short batches.

Each batch is its own small transaction (a ``DELETE`` of at most ``BATCH_SIZE`` rows found
through the ``ts``/``date`` index), so ingestion is never locked out for long. Rollups of the
deleted events' days are kept: metrics outlive events on purpose.
"""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from .exports import jobs as export_jobs
from .extensions import db
from .models import DailyMetric, Event

BATCH_SIZE = 5000


def _delete_in_batches(model, condition, progress=None):
    deleted = 0
    while True:
        ids = sa.select(model.id).where(condition).limit(BATCH_SIZE).scalar_subquery()
        count = db.session.execute(sa.delete(model).where(model.id.in_(ids))).rowcount
        db.session.commit()
        deleted += count
        if progress:
            progress(count)
        if count < BATCH_SIZE:
            return deleted


def clean_up(progress=None):
    """Delete what is past retention; return how many events, metrics and export files."""
    config = current_app.config
    now = datetime.now(UTC)
    event_cutoff = now - timedelta(days=config["EVENT_RETENTION_DAYS"])
    metric_cutoff = (now - timedelta(days=config["METRICS_RETENTION_DAYS"])).date()
    return {
        "events": _delete_in_batches(Event, Event.ts < event_cutoff, progress),
        "metrics": _delete_in_batches(DailyMetric, DailyMetric.date < metric_cutoff, progress),
        "exports": export_jobs.expire_finished(),
    }

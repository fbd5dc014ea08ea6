"""The one lifecycle of a background job's row, for export and erasure jobs alike.

A request records the job ``pending`` and enqueues it (``tasks.enqueue_job``; with the queue
down the job is failed at once, never left pending). The worker claims it, marks it
``running`` and, by how the work ends, ``done`` (with ``finished_at``) or ``failed`` (with
the error, logged); a retried task runs a failed job again, a finished one never. An export
that is done becomes ``expired`` when its file is deleted.
"""

import logging
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum

from .extensions import db

log = logging.getLogger(__name__)


class JobStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    EXPIRED = "expired"


FINISHED = frozenset({JobStatus.DONE, JobStatus.EXPIRED})


def claim(model, job_id):
    """The job to run, or None when it is gone or already finished (a task run twice)."""
    job = db.session.get(model, job_id)
    return None if job is None or job.status in FINISHED else job


def fail(job, error):
    """Record ``job`` as failed with ``error``, dropping whatever its session had not committed."""
    db.session.rollback()
    job.status, job.error = JobStatus.FAILED, str(error)[:255]
    db.session.commit()


@contextmanager
def running(job, kind):
    """Mark ``job`` running for the block, then done; or failed, logged and raised again."""
    job.status = JobStatus.RUNNING
    db.session.commit()
    try:
        yield job
    except Exception as error:
        fail(job, error)
        log.exception("%s %s failed", kind, job.id)
        raise
    job.status, job.finished_at, job.error = JobStatus.DONE, datetime.now(UTC), None
    db.session.commit()

"""User erasure: keep the id out from now on, delete its events, recompute its days.

The request (API) records the job and the erased id in one transaction, so events sent after
it are dropped at once. The job first waits for the batches in flight, then deletes the stored
events in short batches, each leaving a rollup mark for the span it removed, so the next rollup
recomputes exactly the days the user touched (``rollup.protocol`` says why nothing slips
through); the user's stored activity goes too, older days' included. A retried job carries on
where it stopped.
"""

import sqlalchemy as sa
from flask import current_app

from . import partitions
from .extensions import db
from .ingest.anonymize import hash_user_id
from .job_lifecycle import JobStatus, claim, running
from .models import ErasedUser, ErasureJob, Event, EventId
from .rollup import activity, breakdowns, funnels, protocol

BATCH_SIZE = 5000


def stored_user_id(user_id):
    """The id as events store it: hashed when anonymisation is on."""
    config = current_app.config
    if config["ANONYMIZE_USER_IDS"]:
        return hash_user_id(config["ANONYMIZE_KEY"].encode("utf-8"), user_id)
    return user_id


def request_erasure(user_id, requested_by, request_id):
    """Record an erasure job and block the id; the caller enqueues ``job.id`` after this."""
    stored = stored_user_id(user_id)
    if db.session.get(ErasedUser, stored) is None:
        db.session.add(ErasedUser(user_id=stored))
    job = ErasureJob(
        user_id=stored,
        requested_by=requested_by,
        request_id=request_id,
        status=JobStatus.PENDING,
        events_deleted=0,
    )
    db.session.add(job)
    db.session.commit()
    return job


def run(job_id):
    """Delete the job's user's events in batches; mark the job done (or failed)."""
    job = claim(ErasureJob, job_id)
    if job is None:
        return
    with running(job, "erasure job"):
        protocol.wait_for_ingest()
        while _delete_batch(job):
            pass
        funnels.forget_user(job.user_id)  # while the user still has a number
        breakdowns.forget_user(job.user_id)
        activity.forget_user(job.user_id)
        db.session.commit()


def _delete_batch(job):
    """Delete one batch of events (and their client ids) and mark its span; return how many
    were deleted."""
    rows = db.session.execute(
        sa.select(Event.ts, Event.id, Event.client_id)
        .where(Event.user_id == job.user_id)
        .order_by(Event.ts, Event.id)
        .limit(BATCH_SIZE)
    ).all()
    if not rows:
        return 0
    times = [row.ts for row in rows]
    # By the primary key's columns on PostgreSQL, (user_id, ts, id): one index, few partitions.
    db.session.execute(
        sa.delete(Event).where(
            Event.user_id == job.user_id,
            Event.ts.between(min(times), max(times)),
            sa.tuple_(Event.ts, Event.id).in_([(row.ts, row.id) for row in rows]),
        )
    )
    if partitions.partitioned():
        ids = [row.client_id for row in rows if row.client_id is not None]
        db.session.execute(sa.delete(EventId).where(EventId.client_id.in_(ids)))
    protocol.mark(min(times), max(times))
    job.events_deleted += len(rows)
    db.session.commit()
    return len(rows)

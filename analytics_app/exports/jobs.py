"""Export jobs: the worker writes the file, a page polls progress, a signed link downloads it.

Files live in ``EXPORT_DIR`` (shared by web and worker), readable by the service's user alone,
and expire ``EXPORT_TTL_HOURS`` after they are finished: from then on they are refused, and
the hourly cleanup deletes them. A requester has at most ``EXPORT_CONCURRENT_JOBS`` jobs
pending or running at once.
"""

import os
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from ..errors import AppError
from ..extensions import db
from ..job_lifecycle import JobStatus, claim, running
from ..models import ExportJob
from ..reports.events import count_rows
from . import stream, xlsx
from .request import ExportRequest

PROGRESS_SECONDS = 1.0
FILE_MODE = 0o600
BUSY_RETRY_SECONDS = 10
ACTIVE = (JobStatus.PENDING, JobStatus.RUNNING)


class TooManyExportJobsError(AppError):
    status = 429

    def __init__(self, limit):
        super().__init__(
            f"{limit} of your exports are still being prepared; "
            "start another when one of them is done",
            headers={"Retry-After": str(BUSY_RETRY_SECONDS)},
        )


class ExportExpiredError(AppError):
    status = 410
    message = "this export has expired; export again"


class ExportNotReadyError(AppError):
    status = 404

    def __init__(self, status):
        super().__init__(f"this export is {status}, not ready to download")


def export_dir():
    path = Path(current_app.config["EXPORT_DIR"])
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def file_path(job):
    return export_dir() / f"export-{job.id}.{job.format}"


def expired(job, now=None):
    """Whether the job's file is past its lifetime, deleted or not yet."""
    if job.status == JobStatus.EXPIRED:
        return True
    now = now or datetime.now(UTC)
    return job.status == JobStatus.DONE and job.expires_at is not None and job.expires_at <= now


def status_of(job):
    """The job's status as its requester sees it: ``expired`` from ``expires_at`` on."""
    return JobStatus.EXPIRED if expired(job) else JobStatus(job.status)


def finished_file(job):
    """The path of a finished job's file: 410 from the moment it expires, 404 before it is
    done."""
    if expired(job):
        raise ExportExpiredError()
    if job.status != JobStatus.DONE:
        raise ExportNotReadyError(job.status)
    path = file_path(job)
    if not path.exists():  # deleted before its time, by hand or by a host with another clock
        raise ExportExpiredError()
    return path


def _active_jobs(requester):
    """The requester's jobs still pending or running (a job older than a file's lifetime is
    taken for stuck, e.g. by a worker killed mid-run, and no longer counts)."""
    since = datetime.now(UTC) - timedelta(hours=current_app.config["EXPORT_TTL_HOURS"])
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(ExportJob)
        .where(requester.owns_clause(), ExportJob.status.in_(ACTIVE), ExportJob.created_at > since)
    )


def create(request, requester):
    """Record a pending job (the caller enqueues it after this commit), within the
    requester's limit of jobs at once.

    The row is written before the count, so of two requests racing for the last place one
    sees the other: SQLite has one writer at a time, and on PostgreSQL a lock per requester
    orders them.
    """
    requester.lock()
    job = ExportJob(
        requested_by=requester.label,
        owner_user_id=requester.user_id,
        owner_sub=requester.sub,
        format=request.format,
        params=request.as_params(),
        status=JobStatus.PENDING,
        rows_written=0,
    )
    db.session.add(job)
    db.session.flush()
    limit = current_app.config["EXPORT_CONCURRENT_JOBS"]
    if _active_jobs(requester) > limit:
        db.session.rollback()
        raise TooManyExportJobsError(limit)
    db.session.commit()
    return job


def _progress(job_id):
    """A callback that records rows written, at most once a second, outside the read."""
    last = 0.0

    def report(rows, force=False):
        nonlocal last
        if force or time.monotonic() - last >= PROGRESS_SECONDS:
            last = time.monotonic()
            with db.engine.begin() as connection:
                connection.execute(
                    sa.update(ExportJob).where(ExportJob.id == job_id).values(rows_written=rows)
                )

    return report


@contextmanager
def _file_of(job):
    """Yield a new binary file (``FILE_MODE``) to write the job's file in; put it in place at
    the end, or delete it."""
    partial = file_path(job).with_suffix(".part")
    partial.unlink(missing_ok=True)  # a crashed run's: the new file must be made with FILE_MODE
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        with os.fdopen(descriptor, "wb") as target:
            yield target
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(file_path(job))


def _write(request, target, report):
    """Write the export to the binary file ``target``; return the rows written."""
    lo, hi = request.span()
    layout = request.layout
    if request.format == "xlsx":
        rows = stream.rows(lo, hi, request.filters, layout, excel=True)
        return xlsx.write(rows, target, progress=report, header=layout.header(excel=True))
    rows = -1  # the header line
    for chunk in stream.csv_chunks(lo, hi, request.filters, layout):
        target.write(chunk)
        rows += chunk.count(b"\n")
        report(rows)
    return rows


def run(job_id):
    """Write the job's file; safe to rerun (it starts the file over)."""
    job = claim(ExportJob, job_id)
    if job is None:
        return
    request = ExportRequest.from_params(job.format, job.params)
    job.rows_total = count_rows(*request.span(), request.filters)
    with running(job, "export job"):
        with _file_of(job) as target:
            rows = _write(request, target, _progress(job_id))
        job.rows_written, job.filename = rows, request.filename()
        lifetime = timedelta(hours=current_app.config["EXPORT_TTL_HOURS"])
        job.expires_at = datetime.now(UTC) + lifetime


def expire_finished():
    """Delete files past their lifetime; return how many."""
    now = datetime.now(UTC)
    past = db.session.scalars(
        sa.select(ExportJob).where(ExportJob.status == JobStatus.DONE, ExportJob.expires_at <= now)
    ).all()
    for job in past:
        file_path(job).unlink(missing_ok=True)
        job.status = JobStatus.EXPIRED
    db.session.commit()
    return len(past)

"""Export jobs: the worker writes the file, a page polls progress, a signed link downloads it.

Files live in ``EXPORT_DIR`` (shared by web and worker) and are deleted ``EXPORT_TTL_HOURS``
after they are finished, by the hourly cleanup.
"""

import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

from ..extensions import db
from ..job_lifecycle import JobStatus, claim, running
from ..models import ExportJob
from ..reports.events import count_rows
from . import stream, xlsx
from .request import ExportRequest

PROGRESS_SECONDS = 1.0


def export_dir():
    path = Path(current_app.config["EXPORT_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def file_path(job):
    return export_dir() / f"export-{job.id}.{job.format}"


def create(request, requested_by):
    """Record a pending job (the caller enqueues it after this commit)."""
    job = ExportJob(
        requested_by=requested_by,
        format=request.format,
        params=request.as_params(),
        status=JobStatus.PENDING,
        rows_written=0,
    )
    db.session.add(job)
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
    """Yield the path to write the job's file at; put it in place at the end, or delete it."""
    partial = file_path(job).with_suffix(".part")
    try:
        yield partial
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(file_path(job))


def _write(request, path, report):
    """Write the export to ``path``; return the rows written."""
    lo, hi = request.span()
    if request.format == "xlsx":
        return xlsx.write(stream.rows(lo, hi, request.filters), path, progress=report)
    rows = -1  # the header line
    with path.open("wb") as target:
        for chunk in stream.csv_chunks(lo, hi, request.filters):
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
        with _file_of(job) as partial:
            rows = _write(request, partial, _progress(job_id))
        job.rows_written, job.filename = rows, request.filename()
        lifetime = timedelta(hours=current_app.config["EXPORT_TTL_HOURS"])
        job.expires_at = datetime.now(UTC) + lifetime


def _signer():
    return URLSafeTimedSerializer(current_app.config["JWT_SECRET_KEY"], salt="export-download")


def signature(job):
    """A token that authorises downloading this job's file until it expires."""
    return _signer().dumps(job.id)


def signature_valid(job, token):
    max_age = current_app.config["EXPORT_TTL_HOURS"] * 3600
    try:
        return _signer().loads(token, max_age=max_age) == job.id
    except BadSignature:
        return False


def expire_finished():
    """Delete files past their lifetime; return how many."""
    now = datetime.now(UTC)
    expired = db.session.scalars(
        sa.select(ExportJob).where(ExportJob.status == JobStatus.DONE, ExportJob.expires_at < now)
    ).all()
    for job in expired:
        file_path(job).unlink(missing_ok=True)
        job.status = JobStatus.EXPIRED
    db.session.commit()
    return len(expired)

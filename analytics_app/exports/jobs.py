"""Export jobs: the worker writes the file, a page polls progress, a signed link downloads it.

Files live in ``EXPORT_DIR`` (shared by web and worker) and are deleted ``EXPORT_TTL_HOURS``
after they are finished, by the hourly cleanup.
"""

import logging
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

from ..extensions import db
from ..models import ExportJob
from ..reports.events import count_rows
from . import stream, xlsx
from .request import ExportRequest

log = logging.getLogger(__name__)

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
        status="pending",
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


def run(job_id):
    """Write the job's file; safe to rerun (it starts the file over)."""
    job = db.session.get(ExportJob, job_id)
    if job is None or job.status in ("done", "expired"):
        return
    request = ExportRequest.from_params(job.format, job.params)
    lo, hi = request.span()
    job.status = "running"
    job.rows_total = count_rows(lo, hi, request.filters)
    db.session.commit()
    report = _progress(job_id)
    partial = file_path(job).with_suffix(".part")
    try:
        if job.format == "csv":
            rows = -1  # the header line
            with partial.open("wb") as target:
                for chunk in stream.csv_chunks(lo, hi, request.filters):
                    target.write(chunk)
                    rows += chunk.count(b"\n")
                    report(rows)
        else:
            rows = xlsx.write(stream.rows(lo, hi, request.filters), partial, progress=report)
        partial.replace(file_path(job))
    except Exception as error:
        partial.unlink(missing_ok=True)
        db.session.rollback()
        job.status, job.error = "failed", str(error)[:255]
        db.session.commit()
        log.exception("export job %s failed", job_id)
        raise
    now = datetime.now(UTC)
    job.rows_written, job.status, job.filename = rows, "done", request.filename()
    job.finished_at = now
    job.expires_at = now + timedelta(hours=current_app.config["EXPORT_TTL_HOURS"])
    db.session.commit()


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
        sa.select(ExportJob).where(ExportJob.status == "done", ExportJob.expires_at < now)
    ).all()
    for job in expired:
        file_path(job).unlink(missing_ok=True)
        job.status = "expired"
    db.session.commit()
    return len(expired)

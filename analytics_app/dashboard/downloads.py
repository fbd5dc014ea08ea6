"""Exports of the selection on screen: small ones download at once, large ones run as jobs.

The same export code as GET /api/analytics/reports/events and POST /api/analytics/exports,
authorised by the dashboard session instead of a bearer token.
"""

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)

from ..exports import jobs
from ..exports.request import MEDIA_TYPES, ExportRequest
from ..exports.response import download as exported
from ..extensions import db
from ..job_lifecycle import JobStatus
from ..models import ExportJob
from ..reports.events import count_rows
from ..tasks import QueueUnavailableError, enqueue_job, tasks
from . import selection
from .access import login_required, passive
from .errors import sentence
from .forms import ActionForm

bp = Blueprint("exports", __name__, url_prefix="/dashboard/exports")


def _export_request(args):
    export_format = args.get("format", "csv")
    chosen, _, errors = selection.parse(args)
    if export_format not in MEDIA_TYPES or errors:
        abort(422)
    return ExportRequest(export_format, chosen)


def _requester():
    return f"dashboard:{g.user.email}"


@bp.get("/download")
@login_required
def download():
    """Download the selection's events (CSV streamed, Excel spooled), if small enough."""
    export = _export_request(request.args)
    lo, hi = export.span()
    rows = count_rows(lo, hi, export.filters)
    if rows > current_app.config["DASHBOARD_DIRECT_EXPORT_ROWS"][export.format]:
        return render_template(
            "export_large.html", export=export, rows=rows, params=request.args, form=ActionForm()
        )
    return exported(export)


@bp.post("")
@login_required
def create():
    """Queue a background export of the selection; show its progress."""
    job = jobs.create(_export_request(request.form), _requester())
    try:
        enqueue_job(tasks().export, job)
    except QueueUnavailableError as refused:
        if not request.htmx:
            raise  # the error page says so
        # In place of the job's progress: the job, failed, and why (the panels stay as they are).
        return render_template("_export_job.html", job=job, message=sentence(refused.message))
    if request.htmx:
        return render_template("_export_job.html", job=job)
    return redirect(url_for(".status", job_id=job.id))


def _own_job(job_id):
    job = db.get_or_404(ExportJob, job_id)
    if job.requested_by != _requester() and not g.user.is_admin:
        abort(404)
    return job


@bp.get("/<id:job_id>")
@login_required
@passive
def status(job_id):
    """An export job's progress (the fragment polls itself until the job ends)."""
    job = _own_job(job_id)
    return render_template("_export_job.html" if request.htmx else "export_job.html", job=job)


@bp.get("/<id:job_id>/file")
@login_required
def file(job_id):
    """Download a finished export job's file."""
    job = _own_job(job_id)
    if job.status == JobStatus.EXPIRED:
        abort(410)
    if job.status != JobStatus.DONE:
        abort(404)
    return send_file(
        jobs.file_path(job),
        mimetype=MEDIA_TYPES[job.format],
        as_attachment=True,
        download_name=job.filename,
    )

"""Exports of the selection on screen: small ones download at once, large ones run as jobs.

The same export code as GET /api/analytics/reports/events and POST /api/analytics/exports,
authorised by the dashboard session instead of a bearer token. A job is its requester's (by
user id) and the administrators'; to anyone else its address does not exist.
"""

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for

from ..exports import access, jobs
from ..exports.access import Requester
from ..exports.request import MEDIA_TYPES, ExportRequest
from ..exports.response import direct_limit, job_file
from ..exports.response import download as exported
from ..reports.events import count_rows
from ..tasks import QueueUnavailableError, enqueue_job, tasks
from . import selection
from .access import login_required, passive
from .errors import sentence
from .forms import ActionForm

bp = Blueprint("exports", __name__, url_prefix="/dashboard/exports")


def direct_limits():
    """The most rows each format downloads at once; a larger export is offered as a job."""
    return {"csv": current_app.config["DASHBOARD_DIRECT_CSV_ROWS"], "xlsx": direct_limit("xlsx")}


def _export_request(args):
    export_format = args.get("format", "csv")
    chosen, _, errors = selection.parse(args)
    if export_format not in MEDIA_TYPES or errors:
        abort(422)
    return ExportRequest(export_format, chosen)


def _requester():
    return Requester.dashboard_user(g.user)


@bp.get("/download")
@login_required
def download():
    """Download the selection's events (CSV streamed, Excel spooled), if small enough."""
    export = _export_request(request.args)
    lo, hi = export.span()
    rows = count_rows(lo, hi, export.filters)
    if rows > direct_limits()[export.format]:
        return render_template(
            "export_large.html", export=export, rows=rows, params=request.args, form=ActionForm()
        )
    return exported(export)


@bp.post("")
@login_required
def create():
    """Queue a background export of the selection; show its progress."""
    try:
        job = jobs.create(_export_request(request.form), _requester())
    except jobs.TooManyExportJobsError as refused:
        if not request.htmx:
            raise  # the error page says so
        # Where the job's progress would go: why there is none (htmx swaps a 200 only).
        return render_template("_export_refused.html", message=sentence(refused.message))
    try:
        enqueue_job(tasks().export, job)
    except QueueUnavailableError as refused:
        if not request.htmx:
            raise
        # In place of the job's progress: the job, failed, and why (the panels stay as they are).
        return render_template("_export_job.html", job=job, message=sentence(refused.message))
    if request.htmx:
        return render_template("_export_job.html", job=job)
    return redirect(url_for(".status", job_id=job.public_id))


@bp.get("/<public_id:job_id>")
@login_required
@passive
def status(job_id):
    """An export job's progress (the fragment polls itself until the job ends)."""
    job = access.find(job_id, _requester())
    return render_template("_export_job.html" if request.htmx else "export_job.html", job=job)


@bp.get("/<public_id:job_id>/file")
@login_required
def file(job_id):
    """Download a finished export job's file (410 once it has expired)."""
    return job_file(access.find(job_id, _requester()))

"""Exports (scope analytics:read): GET /reports/events streams CSV or Excel; POST /exports
queues a large export as a job with progress and a signed download link."""

from flask import current_app, request, send_file, url_for
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, ValidationError, fields, post_load, validate

from ..auth import READ, current_subject, require_token
from ..exports import jobs
from ..exports.request import MEDIA_TYPES, ExportRequest
from ..exports.response import download
from ..extensions import db
from ..job_lifecycle import JobStatus
from ..models import ExportJob
from ..reports.range import Filters, RangeError, ReportRange, resolve_zone
from ..tasks import enqueue_job, tasks
from .docs import BEARER, error_responses
from .report_schemas import QUERY, ReportQuerySchema

blp = Blueprint(
    "exports", __name__, url_prefix="/api/analytics", description="Export events as CSV or Excel."
)


class ExportQuerySchema(ReportQuerySchema):
    """Without start/end, every stored event; a range may be as long as the data."""

    max_days = None

    format = fields.String(load_default="csv", validate=validate.OneOf(sorted(MEDIA_TYPES)))

    def make_range(self, data):
        start, end = data.get("start"), data.get("end")
        if (start is None) != (end is None):
            raise ValidationError("start and end go together", "start" if end else "end")
        if start is not None:
            return super().make_range(data)
        filters = Filters(data.get("type"), data.get("src"), data.get("user_id"))
        try:
            tzinfo = resolve_zone(data.get("tz") or current_app.config["REPORT_TIMEZONE"])
        except RangeError as error:
            raise ValidationError(error.message, error.field) from None
        return ReportRange.unbounded(tzinfo, filters)

    @post_load
    def _to_range(self, data, **kwargs):
        return {"export": ExportRequest(data["format"], self.make_range(data))}


# The files: CSV as text, Excel as bytes. Generated clients (openapi-python-client) return the
# CSV as a string; the Excel bytes are the raw response's content.
FILE_RESPONSE = {
    "description": "The file: CSV (RFC 4180, a header row) or Excel, as asked by format.",
    "content": {
        MEDIA_TYPES["csv"]: {"schema": {"type": "string"}},
        MEDIA_TYPES["xlsx"]: {"schema": {"type": "string", "format": "binary"}},
    },
}


@blp.route("/reports/events")
class EventExport(MethodView):
    @require_token(READ)
    @blp.doc(security=BEARER, responses={"200": FILE_RESPONSE})
    @blp.arguments(ExportQuerySchema, **QUERY)
    @error_responses(blp, 401, 403, 422)
    def get(self, args):
        """Download events as CSV (streamed as it is read) or Excel, for the filters given."""
        return download(args["export"])


class ExportJobSchema(Schema):
    id = fields.Integer()
    format = fields.String()
    params = fields.Dict(metadata={"description": "tz, start, end, type, src, user_id"})
    status = fields.String(metadata={"description": "pending, running, done, failed, expired"})
    rows_written = fields.Integer()
    rows_total = fields.Integer(allow_none=True)
    requested_by = fields.String()
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    expires_at = fields.DateTime(allow_none=True)
    error = fields.String(allow_none=True)
    status_url = fields.Function(lambda job: url_for("exports.ExportStatus", job_id=job.id))
    download_url = fields.Function(
        lambda job: (
            url_for("exports.ExportDownload", job_id=job.id, signature=jobs.signature(job))
            if job.status == JobStatus.DONE
            else None
        ),
        metadata={"description": "Signed link, valid until expires_at; no token needed."},
    )


@blp.route("/exports")
class ExportJobs(MethodView):
    @require_token(READ)
    @blp.doc(security=BEARER)
    @blp.arguments(ExportQuerySchema, location="json", required=False)
    @blp.response(202, ExportJobSchema)
    @error_responses(blp, 401, 403, 422, 503)
    def post(self, args):
        """Queue an export of the same filters and format as GET /reports/events."""
        job = jobs.create(args["export"], current_subject())
        return enqueue_job(tasks().export, job)


@blp.route("/exports/<id:job_id>")
class ExportStatus(MethodView):
    @require_token(READ)
    @blp.doc(security=BEARER)
    @blp.response(200, ExportJobSchema)
    @error_responses(blp, 401, 403, 404)
    def get(self, job_id):
        """Read an export job's progress (rows written of the total) and its download link."""
        return db.get_or_404(ExportJob, job_id, description="no such export job")


@blp.route("/exports/<id:job_id>/download")
class ExportDownload(MethodView):
    @blp.doc(
        parameters=[{"in": "query", "name": "signature", "schema": {"type": "string"}}],
        responses={"200": FILE_RESPONSE},
    )
    @error_responses(blp, 401, 403, 404, 410)
    def get(self, job_id):
        """Download a finished export with its signed link (or a read-scope bearer token)."""
        job = db.get_or_404(ExportJob, job_id, description="no such export job")
        if not jobs.signature_valid(job, request.args.get("signature", "")):
            return _download_with_token(job)
        return _send(job)


@require_token(READ)
def _download_with_token(job):
    return _send(job)


def _send(job):
    if job.status == JobStatus.EXPIRED:
        abort(410, message="this export has expired; request it again")
    if job.status != JobStatus.DONE:
        abort(404, message=f"this export is {job.status}, not ready to download")
    return send_file(
        jobs.file_path(job),
        mimetype=MEDIA_TYPES[job.format],
        as_attachment=True,
        download_name=job.filename,
    )

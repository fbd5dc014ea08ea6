"""Exports (scope analytics:read): GET /reports/events streams CSV or Excel; POST /exports
queues a large export as a job with progress and a signed download link."""

from flask import current_app, request, url_for
from flask.views import MethodView
from flask_jwt_extended import get_jwt
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, post_load, validate, validates

from ..auth import ADMIN, READ, current_subject, require_token, token_scopes
from ..exports import access, jobs
from ..exports.access import Requester
from ..exports.request import MEDIA_TYPES, ExportRequest
from ..exports.response import (
    DirectExportTooLargeError,
    direct_limit,
    download,
    job_file,
    within_direct_limit,
)
from ..job_lifecycle import JobStatus
from ..reports.events import PAYLOAD_COLUMN
from ..reports.range import Filters, RangeError, ReportRange, resolve_zone
from ..tasks import enqueue_job, tasks
from .docs import BEARER, error_responses
from .report_schemas import QUERY, ReportQuerySchema

blp = Blueprint(
    "exports", __name__, url_prefix="/api/analytics", description="Export events as CSV or Excel."
)


MAX_COLUMNS = 20
COLUMNS_ERROR = "payload.<key>, comma-separated: keys of letters, digits, _ and -"
COLUMNS_PATTERN = r"^payload\.[A-Za-z0-9_-]{1,64}(,payload\.[A-Za-z0-9_-]{1,64})*$"


class ExportQuerySchema(ReportQuerySchema):
    """Without start/end, every stored event; a range may be as long as the data."""

    class Meta:
        exclude = ("compare",)

    max_days = None
    until_today = False

    format = fields.String(load_default="csv", validate=validate.OneOf(sorted(MEDIA_TYPES)))
    columns = fields.String(
        validate=[
            validate.Length(max=MAX_COLUMNS * 80),
            validate.Regexp(COLUMNS_PATTERN, error=COLUMNS_ERROR),
        ],
        metadata={
            "description": "Payload keys to put in columns of their own, after the others:"
            f" payload.<key>, comma-separated (at most {MAX_COLUMNS}; keys of letters, digits,"
            " _ and -). Values as text in CSV (JSON for numbers, booleans and objects); typed"
            " cells in Excel.",
            "example": "payload.page,payload.plan",
        },
    )
    formula_guard = fields.Boolean(
        load_default=True,
        metadata={
            "description": "CSV only: prefix text cells that a spreadsheet would run as a"
            " formula (starting with =, +, -, @, tab or CR) with an apostrophe. Turn it off"
            " (false) for programs that read the CSV; Excel files never need it (their text"
            " cells are typed as text)."
        },
    )

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

    @validates("columns")
    def _few_columns(self, value, **kwargs):
        if len(value.split(",")) > MAX_COLUMNS:
            raise ValidationError(f"at most {MAX_COLUMNS} payload columns")

    @post_load
    def _to_range(self, data, **kwargs):
        names = data["columns"].split(",") if data.get("columns") else []
        keys = tuple(dict.fromkeys(name.removeprefix(PAYLOAD_COLUMN) for name in names))
        request = ExportRequest(data["format"], self.make_range(data), keys, data["formula_guard"])
        return {"export": request}


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
    @error_responses(blp, 401, 403, 413, 422)
    def get(self, args):
        """Download events as CSV (streamed as it is read) or Excel, for the filters given.

        Excel holds at most EXPORT_DIRECT_XLSX_ROWS rows here; past that the answer is a 413
        whose errors.jobs_url names POST /exports, which prepares the same file as a job.
        """
        export = args["export"]
        if not within_direct_limit(export):
            jobs_url = url_for("exports.ExportJobs")
            raise DirectExportTooLargeError(direct_limit(export.format), jobs_url)
        return download(export)


def _requester():
    return Requester.token(current_subject(), ADMIN in token_scopes(get_jwt()))


class ExportJobSchema(Schema):
    id = fields.String(
        attribute="public_id",
        metadata={"description": "The job's id: random, so no one finds a job by guessing."},
    )
    format = fields.String()
    params = fields.Dict(metadata={"description": "tz, start, end, type, src, user_id"})
    status = fields.Function(
        jobs.status_of,
        metadata={"description": "pending, running, done, failed, or expired (from expires_at on)"},
    )
    rows_written = fields.Integer()
    rows_total = fields.Integer(allow_none=True)
    requested_by = fields.String(
        metadata={"description": "Who started it: a token subject, or dashboard:<email>."}
    )
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    expires_at = fields.DateTime(allow_none=True)
    error = fields.String(allow_none=True)
    status_url = fields.Function(lambda job: url_for("exports.ExportStatus", job_id=job.public_id))
    download_url = fields.Function(
        lambda job: (
            url_for("exports.ExportDownload", job_id=job.public_id, signature=access.signature(job))
            if jobs.status_of(job) == JobStatus.DONE
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
    @error_responses(blp, 401, 403, 422, 429, 503)
    def post(self, args):
        """Queue an export of the same filters and format as GET /reports/events.

        A requester (token subject) has at most EXPORT_CONCURRENT_JOBS jobs pending or running
        at once; one more is a 429 with Retry-After.
        """
        job = jobs.create(args["export"], _requester())
        return enqueue_job(tasks().export, job)


@blp.route("/exports/<public_id:job_id>")
class ExportStatus(MethodView):
    @require_token(READ)
    @blp.doc(security=BEARER)
    @blp.response(200, ExportJobSchema)
    @error_responses(blp, 401, 403, 404)
    def get(self, job_id):
        """Read an export job's progress (rows written of the total) and its download link.

        Only its requester (the token subject that started it) and admins see a job; to anyone
        else it is a 404.
        """
        return access.find(job_id, _requester())


@blp.route("/exports/<public_id:job_id>/download")
class ExportDownload(MethodView):
    @blp.doc(
        parameters=[{"in": "query", "name": "signature", "schema": {"type": "string"}}],
        responses={"200": FILE_RESPONSE},
    )
    @error_responses(blp, 401, 403, 404, 410)
    def get(self, job_id):
        """Download a finished export with its signed link (or its requester's bearer token).

        An expired export is a 410 from expires_at on.
        """
        signature = request.args.get("signature")
        job = access.find_signed(job_id, signature) if signature else None
        if job is None:
            return _download_with_token(job_id)
        return job_file(job)


@require_token(READ)
def _download_with_token(job_id):
    return job_file(access.find(job_id, _requester()))

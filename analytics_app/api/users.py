"""DELETE /users/<user_id> and GET /erasures/<id>: audited erasure (scope analytics:admin)."""

from flask import url_for
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields

from ..auth import ADMIN, current_subject, require_token
from ..erasure import request_erasure
from ..extensions import db
from ..models import ErasureJob
from ..request_id import current_request_id
from ..tasks import enqueue_job, tasks
from .docs import BEARER, error_responses

blp = Blueprint("users", __name__, url_prefix="/api/analytics", description="Erase a user's data.")


class ErasureJobSchema(Schema):
    id = fields.Integer()
    status = fields.String(metadata={"description": "pending, running, done or failed"})
    events_deleted = fields.Integer()
    requested_by = fields.String(metadata={"description": "Token subject that asked."})
    request_id = fields.String()
    requested_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    error = fields.String(allow_none=True)
    status_url = fields.Method("_status_url")

    def _status_url(self, job):
        return url_for("users.Erasure", job_id=job.id)


@blp.route("/users/<path:user_id>")
class User(MethodView):
    @require_token(ADMIN)
    @blp.doc(security=BEARER)
    @blp.response(202, ErasureJobSchema)
    @error_responses(blp, 401, 403, 422, 503)
    def delete(self, user_id):
        """Erase every event and rollup contribution of a user, and refuse their later events.

        ``user_id`` is the id as the client sent it (hashed first when anonymisation is on).
        Runs as a background job: poll ``status_url``.
        """
        if len(user_id) > 255:
            abort(422, message="user_id is longer than 255 characters")
        if "\x00" in user_id:  # never stored (ingest refuses it), and PostgreSQL cannot compare it
            abort(422, message="user_id contains a NUL character")
        job = request_erasure(user_id, current_subject(), current_request_id())
        return enqueue_job(tasks().erase_user, job)


@blp.route("/erasures/<id:job_id>")
class Erasure(MethodView):
    @require_token(ADMIN)
    @blp.doc(security=BEARER)
    @blp.response(200, ErasureJobSchema)
    @error_responses(blp, 401, 403, 404)
    def get(self, job_id):
        """Read an erasure job's status."""
        return db.get_or_404(ErasureJob, job_id, description="no such erasure job")

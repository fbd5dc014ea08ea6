"""GET /audit: the ingest audit trail, newest first (scope analytics:admin)."""

import sqlalchemy as sa
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from ..auth import ADMIN, require_token
from ..extensions import db
from ..models import IngestAudit
from .docs import BEARER, error_responses

blp = Blueprint(
    "audit", __name__, url_prefix="/api/analytics", description="The ingest audit trail."
)


class AuditQuerySchema(Schema):
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 1000))
    before = fields.Integer(
        validate=validate.Range(1, 2**63 - 1),
        metadata={"description": "Only records older than this id."},
    )
    subject = fields.String(validate=validate.Length(1, 255))


class AuditRecordSchema(Schema):
    id = fields.Integer()
    request_id = fields.String()
    received_at = fields.DateTime()
    subject = fields.String()
    remote_addr = fields.String(allow_none=True)
    user_agent = fields.String(allow_none=True)
    http_status = fields.Integer()
    events_received = fields.Integer()
    events_stored = fields.Integer()
    events_duplicate = fields.Integer()
    events_refused = fields.Integer(
        metadata={
            "description": "Events neither stored nor duplicates: all of a refused batch's,"
            " or an accepted batch's dropped events (of erased users)."
        }
    )
    error = fields.String(allow_none=True)


@blp.route("/audit")
class AuditTrail(MethodView):
    @require_token(ADMIN)  # outermost: a caller without the scope learns nothing from 422s
    @blp.doc(security=BEARER)
    @blp.arguments(AuditQuerySchema, location="query")
    @blp.response(200, AuditRecordSchema(many=True))
    @error_responses(blp, 401, 403, 422)
    def get(self, args):
        """List ingest batches, accepted and refused, newest first."""
        query = sa.select(IngestAudit).order_by(IngestAudit.id.desc()).limit(args["limit"])
        if "before" in args:
            query = query.where(IngestAudit.id < args["before"])
        if "subject" in args:
            query = query.where(IngestAudit.subject == args["subject"])
        return db.session.scalars(query).all()

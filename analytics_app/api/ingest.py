"""POST /ingest: the event intake, also served on a neutral path that ad blockers let through.

The hot path: a plain view function (no MethodView dispatch, no documentation wrappers at run
time, see ``docs.documented``), documented in the OpenAPI spec like every other endpoint.
"""

from flask import g, jsonify, request
from flask_smorest import Blueprint

from ..auth import require_token
from ..extensions import cors
from ..ingest.service import Caller, ingest
from ..metrics import record_ingest
from ..ratelimit import check_rate_limit
from .docs import BEARER, documented, error_responses
from .schemas import IngestResultSchema

blp = Blueprint(
    "ingest", __name__, url_prefix="/api/analytics", description="Send user-behaviour events."
)

_EVENT = {"$ref": "#/components/schemas/Event"}
REQUEST_BODY = {
    "required": True,
    "description": (
        "One event, or an array of 1..MAX_BATCH_SIZE events stored all or nothing. "
        "May be sent with Content-Encoding: gzip."
    ),
    "content": {
        "application/json": {
            "schema": {"oneOf": [{"type": "array", "items": _EVENT, "minItems": 1}, _EVENT]}
        }
    },
}
# A plain string, not ``format: date-time``: generated clients (openapi-python-client) cannot
# put a typed date-time in a header, and the server reads any RFC 3339 text.
SENT_AT = {
    "in": "header",
    "name": "X-Sent-At",
    "required": False,
    "description": (
        "When the client sent the batch, RFC 3339 with an offset or Z"
        " (e.g. 2026-12-06T15:22:04.961Z); the server corrects the events' times by the"
        " difference between it and its own clock."
    ),
    "schema": {"type": "string", "examples": ["2026-12-06T15:22:04.961Z"]},
}


@blp.route("/ingest", endpoint="Ingest", methods=["POST"])
@documented
@blp.doc(security=BEARER, requestBody=REQUEST_BODY, parameters=[SENT_AT])
# Documented, not dumped through marshmallow: this is the hot path.
@blp.alt_response(200, schema=IngestResultSchema, success=True, description="Stored.")
@error_responses(blp, 400, 401, 413, 415, 422, 429, 503)
@require_token()
def post():
    """Store a batch of events, all or nothing; retries are deduplicated by event id."""
    check_rate_limit(g.subject)
    caller = Caller(
        request_id=g.request_id,
        subject=g.subject,
        remote_addr=request.remote_addr,
        user_agent=request.headers.get("User-Agent", "")[:255] or None,
    )
    outcome = ingest(request, caller)
    record_ingest(outcome)
    result = {"ingested": outcome.stored, "duplicates": outcome.duplicates}
    if outcome.dropped:
        result["dropped"] = outcome.dropped
    return jsonify(result)


def register_alias(api, app):
    """Serve (and document) ingest on INGEST_ALIAS_PATH too, and let browsers post to both."""
    paths = ["/api/analytics/ingest"]
    alias = app.config["INGEST_ALIAS_PATH"]
    if alias:
        # A blueprint of this app's own: the path comes from its configuration.
        alias_blp = Blueprint(
            "ingest_alias", __name__, description="The same intake on INGEST_ALIAS_PATH."
        )
        alias_blp.route(alias, endpoint="Ingest", methods=["POST"], tags=["ingest"])(post)
        api.register_blueprint(alias_blp)
        paths.append(alias)
    cors.init_app(
        app,
        resources={
            f"^({'|'.join(paths)})$": {
                "origins": list(app.config["CORS_ORIGINS"]),
                "methods": ["POST"],
                "allow_headers": [
                    "Authorization",
                    "Content-Type",
                    "Content-Encoding",
                    "X-Sent-At",
                    "X-Request-ID",
                ],
                "expose_headers": ["Retry-After", "X-Request-ID"],
                "max_age": 86400,
            }
        },
    )

"""GET /reports/funnel and /reports/breakdown (scope analytics:read)."""

from flask.views import MethodView
from flask_smorest import Blueprint

from ..auth import READ, require_token
from ..reports.breakdowns import breakdown
from ..reports.funnels import funnel_report
from . import funnel_schemas as schemas
from .docs import BEARER, error_responses
from .report_schemas import QUERY
from .reports import TABLE_RESPONSE, answer

blp = Blueprint(
    "funnels",
    __name__,
    url_prefix="/api/analytics/reports",
    description="Funnels (users through ordered steps) and breakdowns (events per value).",
)


@blp.route("/funnel")
class FunnelReport(MethodView):
    @require_token(READ)
    @blp.doc(security=BEARER, responses=TABLE_RESPONSE)
    @blp.arguments(schemas.FunnelQuerySchema, **QUERY)
    @blp.response(200, schemas.FunnelSchema)
    @error_responses(blp, 401, 403, 422, 503)
    def get(self, args):
        """Users reaching each step of a funnel whose first step falls in the range.

        A user reaches step k with distinct events of steps 1…k, each at the same time as the
        one before or later, the first inside the range's local days and the last within the
        window after it (it may fall after the range). Each user counts once per step.
        """
        return answer("funnel", lambda rng: funnel_report(rng, args["funnel"]), args)


@blp.route("/breakdown")
class BreakdownReport(MethodView):
    @require_token(READ)
    @blp.doc(security=BEARER, responses=TABLE_RESPONSE)
    @blp.arguments(schemas.BreakdownQuerySchema, **QUERY)
    @blp.response(200, schemas.BreakdownSchema)
    @error_responses(blp, 401, 403, 422, 503)
    def get(self, args):
        """Events and distinct users per value of type, src or a payload key, top ones first."""
        return answer(
            "breakdown", lambda rng: breakdown(rng, args["dimension"], args["limit"]), args
        )

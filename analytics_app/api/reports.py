"""GET /reports/…: active users and engagement (scope analytics:read)."""

from flask.views import MethodView
from flask_smorest import Blueprint

from ..auth import READ, require_token
from ..reports import service
from . import report_schemas as schemas
from .docs import BEARER, error_responses

blp = Blueprint(
    "reports",
    __name__,
    url_prefix="/api/analytics/reports",
    description="Active users and engagement. Finished days come from rollups, today live.",
)


def _answer(report, args):
    """The report for the range, with the previous range's figures when asked."""
    if args["previous"] is None:
        return report(args["range"])
    return service.with_previous(report, args["range"], args["previous"])


@blp.route("/dau")
class DailyActiveUsers(MethodView):
    @require_token(READ)
    @blp.doc(security=BEARER)
    @blp.arguments(schemas.DauQuerySchema, **schemas.QUERY)
    @blp.response(200, schemas.DauSchema)
    @error_responses(blp, 401, 403, 422)
    def get(self, args):
        """Distinct users on a local day, or per day from start to end (empty days as 0)."""
        report = service.dau_series if args["series"] else service.dau
        return _answer(report, args)


@blp.route("/active-users")
class ActiveUsers(MethodView):
    @require_token(READ)
    @blp.doc(security=BEARER)
    @blp.arguments(schemas.ReportQuerySchema, **schemas.QUERY)
    @blp.response(200, schemas.ActiveUsersSchema)
    @error_responses(blp, 401, 403, 422)
    def get(self, args):
        """DAU, WAU, MAU and stickiness for each day of the range (default: the last 7 days)."""
        return _answer(service.active_users, args)


@blp.route("/engagement")
class Engagement(MethodView):
    @require_token(READ)
    @blp.doc(security=BEARER)
    @blp.arguments(schemas.ReportQuerySchema, **schemas.QUERY)
    @blp.response(200, schemas.EngagementSchema)
    @error_responses(blp, 401, 403, 422)
    def get(self, args):
        """Events by type and source, events per user, sessions and top pages over the range."""
        return _answer(service.engagement, args)


@blp.route("/retention")
class Retention(MethodView):
    @require_token(READ)
    @blp.doc(security=BEARER)
    @blp.arguments(schemas.RetentionQuerySchema, **schemas.QUERY)
    @blp.response(200, schemas.RetentionSchema)
    @error_responses(blp, 401, 403, 422)
    def get(self, args):
        """Day-1/7/30 retention of the users first seen on each day (default: last 30 days)."""
        return _answer(service.retention, args)

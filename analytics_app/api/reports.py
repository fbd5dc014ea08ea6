"""GET /reports/…: active users and engagement (scope analytics:read)."""

from flask.views import MethodView
from flask_smorest import Blueprint

from ..auth import READ, require_token
from ..exports.request import MEDIA_TYPES
from ..exports.response import report_file
from ..reports import service
from . import report_schemas as schemas
from .docs import BEARER, error_responses

blp = Blueprint(
    "reports",
    __name__,
    url_prefix="/api/analytics/reports",
    description="Active users and engagement. Finished days come from rollups, today live.",
)


def answer(name, report, args):
    """``report(range)`` (named ``name`` as ``exports.tables`` knows it), with the previous
    range's figures when asked: JSON, or as a table in a CSV or Excel file."""
    if args["previous"] is None:
        body = report(args["range"])
    else:
        body = service.with_previous(report, args["range"], args["previous"])
    if args["format"] is None:
        return body
    return report_file(name, body, args["format"], args["formula_guard"])


# The 200 answer besides JSON: the same figures as a table (format=csv|xlsx).
TABLE_RESPONSE = {
    200: {
        "content": {
            MEDIA_TYPES["csv"]: {"schema": {"type": "string"}},
            MEDIA_TYPES["xlsx"]: {"schema": {"type": "string", "format": "binary"}},
        }
    }
}


@blp.route("/dau")
class DailyActiveUsers(MethodView):
    @require_token(READ)
    @blp.doc(security=BEARER, responses=TABLE_RESPONSE)
    @blp.arguments(schemas.DauQuerySchema, **schemas.QUERY)
    @blp.response(200, schemas.DauSchema)
    @error_responses(blp, 401, 403, 422, 503)
    def get(self, args):
        """Distinct users on a local day, or per day from start to end (empty days as 0)."""
        if args["series"]:
            return answer("dau_series", service.dau_series, args)
        return answer("dau", service.dau, args)


@blp.route("/active-users")
class ActiveUsers(MethodView):
    @require_token(READ)
    @blp.doc(security=BEARER, responses=TABLE_RESPONSE)
    @blp.arguments(schemas.ReportQuerySchema, **schemas.QUERY)
    @blp.response(200, schemas.ActiveUsersSchema)
    @error_responses(blp, 401, 403, 422, 503)
    def get(self, args):
        """DAU, WAU, MAU and stickiness for each day of the range (default: the last 7 days)."""
        return answer("active_users", service.active_users, args)


@blp.route("/engagement")
class Engagement(MethodView):
    @require_token(READ)
    @blp.doc(security=BEARER, responses=TABLE_RESPONSE)
    @blp.arguments(schemas.ReportQuerySchema, **schemas.QUERY)
    @blp.response(200, schemas.EngagementSchema)
    @error_responses(blp, 401, 403, 422, 503)
    def get(self, args):
        """Events by type and source, events per user, sessions and top pages over the range."""
        return answer("engagement", service.engagement, args)


@blp.route("/retention")
class Retention(MethodView):
    @require_token(READ)
    @blp.doc(security=BEARER, responses=TABLE_RESPONSE)
    @blp.arguments(schemas.RetentionQuerySchema, **schemas.QUERY)
    @blp.response(200, schemas.RetentionSchema)
    @error_responses(blp, 401, 403, 422, 503)
    def get(self, args):
        """Day-1/7/30 retention of the users first seen on each day (default: last 30 days)."""
        return answer("retention", service.retention, args)

"""The overview's split-by panel: the selection's events by type, source or a payload key,
the top values as a table with a bar per row (the API's ``GET /reports/breakdown``)."""

from flask import Blueprint, make_response, render_template, request

from ..reports import breakdowns
from ..reports.breakdowns import Dimension, DimensionError
from . import revalidation, selection
from .access import login_required

bp = Blueprint("breakdowns", __name__, url_prefix="/dashboard/breakdown")

ROWS = 10


@bp.get("")
@login_required
def fragment():
    """The split-by panel for the filter bar's selection and the chosen dimension."""
    chosen, _, errors = selection.parse(request.args)
    by = request.args.get("by") or "type"
    try:
        dimension = Dimension.parse(by)
    except DimensionError as error:
        errors = [*errors, str(error)]
    choices = [("type", "Type"), ("src", "Source")]
    context = {"errors": errors, "by": by, "choices": choices, "rows": []}
    tag = None
    if not errors:
        tag = revalidation.etag("breakdown", by, chosen.key(), chosen.today())
        if unchanged := revalidation.not_modified(tag):
            return unchanged
        rows = breakdowns.breakdown(chosen, dimension, ROWS)["rows"]
        most = max((row["events"] for row in rows), default=0)
        # Past the top ROWS values, a row is the other row (or the null row), never a value.
        context["rows"] = [
            {**row, "share": row["events"] / most, "rest": n >= ROWS or row["value"] is None}
            for n, row in enumerate(rows)
        ]
        choices += [(f"payload.{key}", f"payload.{key}") for key in breakdowns.payload_keys(chosen)]
    if by not in dict(choices):
        choices.append((by, by))
    html = render_template("_breakdown.html", **context)
    if errors:
        return html, 422
    return revalidation.revalidated(make_response(html), tag)

"""The overview page and its HTMX fragments: the panels, and the recent-events table."""

import functools
import zoneinfo

from flask import Blueprint, abort, render_template, request, url_for
from htmx_flask import make_response

from . import panels, recent, selection
from .access import login_required, passive
from .downloads import direct_limits

bp = Blueprint("overview", __name__, url_prefix="/dashboard")


@functools.cache
def time_zones():
    return sorted(zoneinfo.available_timezones())


def _context(args):
    chosen, form, errors = selection.parse(args)
    context = {
        "selection": chosen,
        "form": form,
        "errors": errors,
        "zones": time_zones(),
        "direct_rows": direct_limits(),
    }
    if not errors:
        context.update(panels.overview(chosen))
    return context


@bp.get("")
@login_required
def index():
    """The overview; an HTMX request from the filter bar gets the panels alone."""
    context = _context(request.args)
    status = 422 if context["errors"] else 200
    if request.htmx and not request.htmx.history_restore_request:
        url = url_for(".index", **context["selection"].as_params()) if status == 200 else False
        response = make_response(render_template("_panels.html", **context), status, push_url=url)
    else:
        response = make_response(render_template("overview.html", **context), status)
    response.vary.add("HX-Request")
    return response


@bp.get("/recent")
@login_required
@passive
def recent_events():
    """The recent-events table alone (the overview polls it every 10 s)."""
    chosen, _, errors = selection.parse(request.args)
    if errors:
        abort(422)
    return render_template("_recent_events.html", selection=chosen, events=recent.latest(chosen))

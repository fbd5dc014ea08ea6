"""The Funnels page: steps and a window over the filter bar's range and source, users per
step as bars, conversions and median times, and the same figures as CSV or Excel.

Everything is in the query string (``step`` repeated, ``window``, ``start``, ``end``, ``tz``,
``src``, ``compare``), so a funnel's address reopens it; the API's ``GET /reports/funnel``
reads the same, and with ``compare=previous`` answers the previous range's figures as it does.
"""

import functools

from flask import Blueprint, abort, current_app, render_template, request, url_for
from htmx_flask import make_response

from ..exports.request import MEDIA_TYPES
from ..exports.response import report_file
from ..reports import funnels, service
from ..reports.steps import (
    DEFAULT_WINDOW,
    MAX_STEPS,
    MIN_STEPS,
    Funnel,
    StepError,
    parse_steps,
    parse_window,
)
from . import charts, selection
from .access import login_required
from .overview import time_zones

bp = Blueprint("funnels", __name__, url_prefix="/dashboard/funnels")

WINDOWS = ("30m", "1h", "6h", "12h", "1d", "3d", "7d", "14d", "30d")
RANGE_PARAMS = ("start", "end", "tz", "src", "compare")


def _parse(args):
    """The page's query string read: ``(range, form, previous range or None, funnel, errors,
    step texts, window)``; the funnel is None until two valid steps are given."""
    chosen, form, errors = selection.parse({name: args.get(name, "") for name in RANGE_PARAMS})
    previous = None if errors else selection.previous(chosen, form)
    texts = [text.strip() for text in args.getlist("step") if text.strip()]
    window_text = args.get("window") or DEFAULT_WINDOW
    if len(texts) > MAX_STEPS:
        errors.append(f"A funnel has at most {MAX_STEPS} steps.")
    steps, problems = parse_steps(texts[:MAX_STEPS], current_app.config["ALLOWED_EVENT_TYPES"])
    errors.extend(f"Step {problem}" for problem in problems)
    try:
        window = parse_window(window_text)
    except StepError as error:
        errors.append(f"Window {error}")
        window = None
    funnel = None
    if not errors and len(steps) >= MIN_STEPS:
        funnel = Funnel(tuple(steps), window, window_text)
    return chosen, form, previous, funnel, errors, texts, window_text


def _params(chosen, previous, texts, window_text):
    """The canonical query of a funnel view (what the address bar shows)."""
    view = selection.query(chosen, previous)
    params = {name: value for name, value in view.items() if name in RANGE_PARAMS}
    return {**params, "step": texts, "window": window_text}


def _report(chosen, previous, funnel):
    """The funnel's figures, with the previous range's under ``previous`` when compared: the
    API's answer to the same query."""
    report = functools.partial(funnels.funnel_report, funnel=funnel)
    if previous is None:
        return report(chosen)
    return service.with_previous(report, chosen, previous)


@bp.get("")
@login_required
def index():
    """The funnel of the query's steps; an HTMX request from the form gets the result alone."""
    chosen, form, previous, funnel, errors, texts, window_text = _parse(request.args)
    context = {
        "selection": chosen,
        "previous": previous,
        "form": form,
        "errors": errors,
        "zones": time_zones(),
        "texts": texts,
        "window": window_text,
        "windows": WINDOWS if window_text in WINDOWS else (*WINDOWS, window_text),
        "slots": min(MAX_STEPS, max(len(texts) + 1, 3)),
        "params": _params(chosen, previous, texts, window_text),
        "report": None,
    }
    if funnel is not None:
        report = _report(chosen, previous, funnel)
        before = report["previous"]["steps"] if previous else None
        context.update(report=report, figure=charts.funnel(report["steps"], before))
    if not errors:
        context["suggestions"] = funnels.step_suggestions(chosen)
    status = 422 if errors else 200
    if request.htmx and not request.htmx.history_restore_request:
        url = url_for(".index", **context["params"]) if status == 200 else False
        response = make_response(render_template("_funnel.html", **context), status, push_url=url)
    else:
        response = make_response(render_template("funnels.html", **context), status)
    response.vary.add("HX-Request")
    return response


@bp.get("/export")
@login_required
def export():
    """The funnel's figures as CSV or Excel (the API's format=csv|xlsx, by session)."""
    export_format = request.args.get("format", "csv")
    chosen, _, previous, funnel, errors, _, _ = _parse(request.args)
    if export_format not in MEDIA_TYPES or errors or funnel is None:
        abort(422)
    return report_file("funnel", _report(chosen, previous, funnel), export_format)

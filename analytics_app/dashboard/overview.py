"""The overview page and its HTMX fragments: the panels, each loaded on its own.

The page itself runs no report: it carries the filter bar and, for each panel, either the
panel ready, when the report cache holds its figures (``reports.cache.cached_only``), or a
placeholder that asks for it as soon as it is shown. A panel whose report fails (past the
statement time limit, or with the database away) answers with a message and a retry in its
own place; the rest of the page is untouched. Like the panels, the page is revalidated
(``revalidation``): opened again with nothing changed, it is a 304 holding every panel.
"""

import csv
import functools
import io
import logging

from flask import Blueprint, Response, abort, g, render_template, request, session, url_for
from htmx_flask import make_response
from markupsafe import Markup
from sqlalchemy.exc import OperationalError

from ..errors import DATABASE_RETRY_AFTER_SECONDS
from ..exports.response import MEDIA_TYPES, report_file
from ..extensions import db
from ..reports.cache import NotCached, cached_only
from ..reports.timeout import ReportTimeoutError, statement_timeout
from . import panels, revalidation, selection
from .access import login_required, passive
from .errors import sentence

bp = Blueprint("overview", __name__, url_prefix="/dashboard")
log = logging.getLogger(__name__)

DATABASE_AWAY = "The database is unavailable. Try again in a moment."
BROKEN = "This panel could not be drawn. It has been logged."


@functools.cache
def time_zones():
    return sorted(selection.time_zones())


@bp.get("")
@login_required
def index():
    """The overview; an HTMX request from the filter bar gets the panels alone."""
    chosen, form, errors = selection.parse(request.args)
    previous = None if errors else selection.previous(chosen, form)
    query = selection.query(chosen, previous)
    partial = bool(request.htmx) and not request.htmx.history_restore_request
    # The page's validator is that of what it shows with the number of panels it holds
    # ready: a copy holding them all is kept until something changes; one holding fewer
    # (the cache lacked the rest when it was made) is replaced once the cache has more.
    shown = None
    if not errors and not session.get("_flashes"):  # a message is shown once
        user = (g.user.email, g.user.is_admin)  # the page's header
        shown = revalidation.etag("page", partial, user, chosen.key(), query, chosen.today())
        if unchanged := revalidation.not_modified(_holding(shown, panels.FROM_CACHE)):
            return _varied(unchanged)
    ready = {} if errors else _cached_panels(chosen, previous, query)
    tag = shown and _holding(shown, ready)
    if tag and (unchanged := revalidation.not_modified(tag)):
        return _varied(unchanged)
    context = {
        "selection": chosen,
        "previous": previous,
        "query": query,
        "form": form,
        "errors": errors,
        "zones": time_zones(),
        "ready": ready,
    }
    status = 422 if errors else 200
    if partial:
        url = url_for(".index", **query) if status == 200 else False
        response = make_response(render_template("_panels.html", **context), status, push_url=url)
    else:
        response = make_response(render_template("overview.html", **context), status)
    response = _varied(response)
    return revalidation.revalidated(response, tag) if tag else response


def _holding(shown, ready):
    """The page's validator: that of what it shows, and how many panels it holds ready."""
    return f"{shown}-{len(ready)}"


def _varied(response):
    """The page and the filter bar's partial share an address."""
    response.vary.add("HX-Request")
    return response


def _cached_panels(chosen, previous, query):
    """The panels whose figures the report cache holds, rendered as their fragments are, by
    name: the first ones of ``panels.FROM_CACHE``. The first panel that would have to run a
    report ends the search: on live data, where a write changes today's figures, the ones
    after it would not be cached either. It and the rest load themselves."""
    ready = {}
    for name in panels.FROM_CACHE:
        try:
            with cached_only():
                context = panels.PANELS[name][1](chosen, previous)
        except NotCached:
            break
        except Exception:
            # Its placeholder will ask again, and show the failure in the panel's place.
            log.exception("the overview's %s panel failed from the cache", name)
            db.session.rollback()
            break
        ready[name] = Markup(_ready_panel(name, chosen, query, context))
    return ready


def _ready_panel(name, chosen, query, context):
    """A panel's HTML with its figures, as its fragment and the page both carry it."""
    return render_template(
        "_panel.html", name=name, state="ready", selection=chosen, query=query, **context
    )


def _failed(name, chosen, query, status, message, headers=None):
    html = render_template(
        "_panel.html",
        name=name,
        state="failed",
        status=status,
        selection=chosen,
        query=query,
        message=message,
    )
    return html, status, {**(headers or {}), "X-Panel": "failed"}


@bp.get("/panels/<name>")
@login_required
@passive
def panel(name):
    """One panel of the overview for the query's selection, or its failure in its place."""
    if name not in panels.PANELS:
        abort(404)
    chosen, form, errors = selection.parse(request.args)
    if errors:
        return _failed(name, chosen, chosen.as_params(), 422, " ".join(errors))
    previous = selection.previous(chosen, form)
    query = selection.query(chosen, previous)
    try:
        tag = revalidation.etag("panel", name, chosen.key(), query, chosen.today())
        if unchanged := revalidation.not_modified(tag):
            return unchanged
        with statement_timeout():
            context = panels.PANELS[name][1](chosen, previous)
    except ReportTimeoutError as error:
        return _failed(name, chosen, query, 503, sentence(error.message), error.headers)
    except OperationalError as error:
        log.warning("database unavailable: %s", getattr(error, "orig", error))
        db.session.rollback()
        retry = {"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)}
        return _failed(name, chosen, query, 503, DATABASE_AWAY, retry)
    except Exception:
        # One broken panel must not take the page down with it.
        log.exception("the overview's %s panel failed", name)
        db.session.rollback()
        return _failed(name, chosen, query, 500, BROKEN)
    html = _ready_panel(name, chosen, query, context)
    return revalidation.revalidated(make_response(html), tag)


@bp.get("/charts/<name>.csv")
@login_required
def chart_csv(name):
    """A chart's figures as CSV, for the selection in the query (and the previous period's
    beside them, with ``compare=previous``)."""
    if name not in panels.CHARTS:
        abort(404)
    chosen, form, errors = selection.parse(request.args)
    if errors:
        abort(422)
    with statement_timeout():
        header, rows = panels.chart_table(name, chosen, selection.previous(chosen, form))
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    filename = f"{name}_{chosen.start.isoformat()}_{chosen.end.isoformat()}.csv"
    return Response(
        text.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.get("/figures/<name>.<export_format>")
@login_required
def figures(name, export_format):
    """A report's figures for the selection in the query, as CSV or Excel: what the API's
    ``format=csv|xlsx`` gives, by session (with the previous period's beside them, with
    ``compare=previous``)."""
    if name not in panels.FIGURES or export_format not in MEDIA_TYPES:
        abort(404)
    chosen, form, errors = selection.parse(request.args)
    if errors:
        abort(422)
    with statement_timeout():
        table, body = panels.figures(name, chosen, selection.previous(chosen, form))
    return report_file(table, body, export_format)


@bp.get("/recent")
@login_required
@passive
def recent_events():
    """The recent-events panel (the overview polls it every 10 s)."""
    return panel("recent")

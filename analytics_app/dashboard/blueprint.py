"""The dashboard blueprint: the pages' own blueprints nest in it and share its hooks."""

import time

from flask import Blueprint, abort, g, redirect, url_for
from flask_wtf.csrf import CSRFProtect
from htmx_flask import Htmx

from . import (
    access,
    account,
    admin,
    breakdowns,
    downloads,
    errors,
    funnels,
    overview,
    templating,
)

csrf = CSRFProtect()
htmx = Htmx()

bp = Blueprint("dashboard", __name__)


@bp.get("/")
@bp.get("/dashboard/")
def root():
    """Send visitors of the bare host (or of /dashboard/) to the dashboard."""
    return redirect(url_for("dashboard.overview.index"))


@bp.get("/favicon.ico")
def favicon():
    """The icon browsers ask for on their own, on pages that name none (the API's, errors)."""
    return redirect(url_for("static", filename="dashboard/favicon.svg"), 301)


@bp.route("/dashboard/<path:unknown>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def not_found(unknown):
    """An unknown dashboard address, or one that takes no such request (an id past the
    database's range included): the dashboard's own 404 page, not the API's JSON."""
    abort(404)


def _protect_from_csrf():
    """Refuse a POST (sign-in included) whose CSRF token is missing or wrong."""
    csrf.protect()


def _server_timing(response):
    """Say how long the app took (``Server-Timing``): the browser's resource timing then
    tells the server's time from the time a request waited for a worker."""
    if "started" in g:
        elapsed_ms = (time.perf_counter() - g.started) * 1000
        response.headers["Server-Timing"] = f"app;dur={elapsed_ms:.1f}"
    return response


# In this order: who is signed in (the error page's header shows it), then the CSRF check.
bp.before_request(access.load)
bp.before_request(_protect_from_csrf)
bp.after_request(errors.security_headers)
bp.after_request(_server_timing)
errors.register(bp)
templating.register(bp)
for child in (account.bp, overview.bp, breakdowns.bp, funnels.bp, downloads.bp, admin.bp):
    bp.register_blueprint(child)

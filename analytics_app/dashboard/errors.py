"""HTML error pages for the dashboard (the API keeps its JSON envelope), and its headers.

No page ever shows a trace: unexpected errors are logged with the request id, which the
page gives, and answered with a plain 500 page.
"""

import logging

from flask import g, render_template
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from ..errors import AppError
from ..extensions import db
from .revalidation import REVALIDATE

log = logging.getLogger(__name__)

# plotly.js sets inline styles; nothing else is allowed but this origin.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)

MESSAGES = {
    400: "The request could not be understood.",
    403: "This page is for administrators.",
    404: "There is nothing here.",
    405: "This address does not take that kind of request.",
    410: "This export has expired. Export again from the overview.",
    422: "Some of the values given are not valid.",
    429: "Too many requests. Wait a little and try again.",
    500: "Something went wrong on our side. It has been logged.",
    503: "The database is unavailable. Try again in a moment.",
}
CSRF_MESSAGE = (
    "This form has expired or did not come from this site. Reload the page and try again."
)
BARE_500 = (
    "<!doctype html><meta charset='utf-8'><title>Error</title>"
    "<h1>Something went wrong</h1><p>It has been logged.</p>"
)


def _page(status, message):
    return render_template("error.html", status=status, message=message), status


def _http_error(error):
    message = CSRF_MESSAGE if isinstance(error, CSRFError) else MESSAGES.get(error.code)
    return _page(error.code, message or error.name)


def sentence(message):
    """An error's message as a sentence: ``queue is down`` → ``Queue is down.``"""
    return message[:1].upper() + message[1:] + "."


def _app_error(error):
    return *_page(error.status, sentence(error.message)), error.headers


def _database_unavailable(error):
    log.warning("database unavailable: %s", getattr(error, "orig", error))
    db.session.rollback()
    return _safely(503)


def _unexpected(error):
    log.exception("unhandled error on a dashboard page", exc_info=error)
    db.session.rollback()
    return _safely(500)


def _safely(status):
    """The error page, or bare HTML when even that fails (e.g. the database is down)."""
    try:
        g.user = None  # the header would query the database for the user's email
        return _page(status, MESSAGES[status])
    except Exception:
        log.exception("the error page failed too")
        return BARE_500, status


def security_headers(response):
    """No caching but the fragments' revalidation (``revalidation``); scripts and styles from
    this origin only (http_security adds the rest)."""
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    if response.headers.get("Cache-Control") != REVALIDATE:
        response.headers["Cache-Control"] = "no-store"
    return response


def register(bp):
    """Answer the dashboard's errors with HTML pages."""
    bp.register_error_handler(HTTPException, _http_error)
    bp.register_error_handler(AppError, _app_error)
    bp.register_error_handler(OperationalError, _database_unavailable)
    bp.register_error_handler(Exception, _unexpected)

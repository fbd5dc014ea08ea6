"""A request id for every request: taken from ``X-Request-ID`` when sane, echoed back."""

import re
import uuid

from flask import g, request

_SANE = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def current_request_id():
    """Return this request's id."""
    return g.request_id


def _assign():
    supplied = request.headers.get("X-Request-ID", "")
    g.request_id = supplied if _SANE.fullmatch(supplied) else uuid.uuid4().hex


def _echo(response):
    response.headers["X-Request-ID"] = g.get("request_id", "")
    return response


def init_app(app):
    """Assign ids before anything else runs and return them on every response."""
    app.before_request_funcs.setdefault(None, []).insert(0, _assign)
    app.after_request(_echo)

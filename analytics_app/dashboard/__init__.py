"""The web dashboard: server-rendered pages and HTMX fragments under /dashboard.

Signed-in users only, through a server-side session (``access``, stored by
``accounts.sessions``) whose secret travels in Flask's signed session cookie; every
state-changing request carries a CSRF token (Flask-WTF). The JSON API keeps its bearer tokens
and is untouched by either.
"""

import hashlib
import hmac

from .blueprint import bp, csrf, htmx

# Internal settings (the environment-driven ones are in config.py).
DEFAULTS = {
    "DASHBOARD_DEFAULT_DAYS": 28,
    # CSV exports up to this many rows download at once; larger ones run as background jobs,
    # with a progress bar (Excel's limit is EXPORT_DIRECT_XLSX_ROWS, the API's too).
    "DASHBOARD_DIRECT_CSV_ROWS": 100_000,
}


def _session_secret(app):
    """A key for the session cookie: SECRET_KEY if set, else derived from the JWT secret."""
    if app.config.get("SECRET_KEY"):
        return app.config["SECRET_KEY"]
    key = app.config["JWT_SECRET_KEY"].encode()
    return hmac.new(key, b"analytics dashboard session cookie", hashlib.sha256).hexdigest()


def init_app(app):
    """Configure the session cookie and CSRF, and register the dashboard's routes."""
    for name, value in DEFAULTS.items():
        app.config.setdefault(name, value)
    app.config.update(
        SECRET_KEY=_session_secret(app),
        SESSION_COOKIE_NAME="analytics_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=app.config["APP_ENV"] != "development",
        # Only dashboard routes check CSRF (see blueprint.py): the API uses bearer tokens.
        WTF_CSRF_CHECK_DEFAULT=False,
        # The token lives as long as the session that holds it.
        WTF_CSRF_TIME_LIMIT=app.config["DASHBOARD_SESSION_HOURS"] * 3600,
    )
    csrf.init_app(app)
    htmx.init_app(app)
    app.register_blueprint(bp)

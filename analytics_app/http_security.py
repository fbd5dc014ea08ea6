"""What every response says to browsers, and which hosts the service answers for.

Every response, from any blueprint, error handler, Swagger UI or ``/static``, carries
``nosniff`` and frame protection (``X-Frame-Options`` and CSP ``frame-ancestors``); production
adds HSTS. A response without a policy of its own gets one that allows nothing to run, since
JSON and files are never meant to be rendered as pages; the dashboard and the docs page set
theirs. ``TRUSTED_HOSTS`` is Flask's host check: an untrusted ``Host`` is a 400 before routing.
"""

from urllib.parse import urlsplit, urlunsplit

from flask import request
from werkzeug.routing import RequestRedirect

# Nothing may run, load or frame: for API answers, files and error pages.
DEFAULT_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# Swagger UI (static/vendor/swagger-ui, started by static/docs/swagger-init.js): scripts and
# styles from this origin only; its icons are data: URIs.
DOCS_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
DOCS_ENDPOINT = "api-docs.openapi_swagger_ui"
HSTS = "max-age=63072000"
# Without TRUSTED_HOSTS, production answers only for the machine itself (health checks,
# a first look), so a forgotten setting fails closed.
PRODUCTION_DEFAULT_HOSTS = ("localhost", "127.0.0.1")


def trusted_hosts(config):
    """Flask's ``TRUSTED_HOSTS``: the configured names, loopback in production, else any."""
    if config["TRUSTED_HOSTS"]:
        return list(config["TRUSTED_HOSTS"])
    if config["APP_ENV"] == "production":
        return list(PRODUCTION_DEFAULT_HOSTS)
    return None


def _relative_routing_redirect():
    """Send the router's redirects (``//`` merged, a trailing slash added) as a path.

    Werkzeug builds their ``Location`` from the request's ``Host`` header, so ``Host:
    evil.example`` on ``/dashboard//x`` was sent to ``http://evil.example/dashboard/x``. The
    path alone keeps the browser on the host it asked.
    """
    redirect = request.routing_exception
    if isinstance(redirect, RequestRedirect):
        parts = urlsplit(redirect.new_url)
        path = "/" + parts.path.lstrip("/")
        request.routing_exception = RequestRedirect(urlunsplit(("", "", path, parts.query, "")))


def _headers(hsts):
    """The after-request hook: the same few headers on every response."""

    def add(response):
        headers = response.headers
        headers["X-Content-Type-Options"] = "nosniff"
        headers["X-Frame-Options"] = "DENY"
        if "Content-Security-Policy" not in headers:
            docs = request.endpoint == DOCS_ENDPOINT
            headers["Content-Security-Policy"] = DOCS_POLICY if docs else DEFAULT_POLICY
        headers.setdefault("Referrer-Policy", "same-origin")
        if hsts:
            headers["Strict-Transport-Security"] = HSTS
        return response

    return add


def init_app(app):
    """Check hosts, keep redirects on the requested host and add the headers to everything."""
    app.config["TRUSTED_HOSTS"] = trusted_hosts(app.config)
    app.before_request(_relative_routing_redirect)
    app.after_request(_headers(app.config["APP_ENV"] == "production"))

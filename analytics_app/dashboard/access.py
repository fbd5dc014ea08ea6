"""Who is signed in to the dashboard, and the guards of its views.

The signed session cookie holds a random secret; ``accounts.sessions`` stores its hash and
decides whether the session is still live. Signing out deletes it on the server too.
"""

from functools import wraps
from urllib.parse import urlsplit

from flask import abort, current_app, g, redirect, request, session, url_for
from htmx_flask import make_response

from ..accounts import sessions

COOKIE_KEY = "sid"


def sign_in(user):
    """Sign ``user`` in with a new session and a fresh cookie (no fixation, new CSRF token)."""
    secret = sessions.start(user)
    session.clear()
    session[COOKIE_KEY] = secret


def sign_out():
    """Sign out: delete the session on the server, then forget the cookie's contents."""
    secret = session.get(COOKIE_KEY)
    if isinstance(secret, str):
        sessions.end(secret)
    session.clear()


def passive(view):
    """Mark a view (a poll) whose requests must not keep an idle session alive."""
    view.passive = True
    return view


def load():
    """Set ``g.user`` from the cookie's session when it is live; forget it otherwise."""
    g.user = None
    secret = session.get(COOKIE_KEY)
    if not isinstance(secret, str):
        return
    view = current_app.view_functions.get(request.endpoint)
    user = sessions.user_of(secret, touch=not getattr(view, "passive", False))
    if user is None:
        session.pop(COOKIE_KEY, None)
        return
    g.user = user
    g.subject = f"dashboard:{user.id}"  # for the logs (an id, not the email)


def safe_next(target):
    """``target`` if it is a dashboard path on this site, else None (no open redirects)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/dashboard"):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _sign_in_redirect():
    page = request.full_path if request.method == "GET" else None
    if request.htmx:
        # A fragment's own URL is no page to come back to: the page that asked for it is.
        current = urlsplit(request.htmx.current_url or "")
        page = current.path + (f"?{current.query}" if current.query else "")
    target = url_for("dashboard.account.sign_in", next=safe_next(page))
    if request.htmx:
        return make_response("", 401, redirect=target)
    return redirect(target)


def login_required(view):
    """Send anonymous visitors to the sign-in page (an HTMX request: a client redirect)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if g.user is None:
            return _sign_in_redirect()
        return view(*args, **kwargs)

    return wrapper


def admin_required(view):
    """Signed-in administrators only: anyone else signed in gets 403."""

    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not g.user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapper

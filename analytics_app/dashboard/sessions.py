"""Server-side sign-in sessions: a random secret in the signed cookie, its SHA-256 in a row.

Signing out deletes the row, so a copy of the old cookie is worthless afterwards. A session
ends after ``DASHBOARD_SESSION_IDLE_MINUTES`` without a request, and after
``DASHBOARD_SESSION_HOURS`` whatever happens; deactivating a user ends all of theirs.
"""

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from functools import wraps
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import abort, current_app, g, redirect, request, session, url_for
from htmx_flask import make_response

from ..extensions import db
from ..models import DashboardSession
from ..reports.periods import as_utc

COOKIE_KEY = "sid"
# Refresh last_seen_at at most this often, not on every request.
TOUCH_EVERY = timedelta(minutes=1)


def _digest(secret):
    return hashlib.sha256(secret.encode()).hexdigest()


def _idle_limit():
    return timedelta(minutes=current_app.config["DASHBOARD_SESSION_IDLE_MINUTES"])


def _live(record, now):
    return as_utc(record.expires_at) > now and now - as_utc(record.last_seen_at) < _idle_limit()


def start(user):
    """Sign ``user`` in with a new session and a fresh cookie (no fixation, new CSRF token)."""
    now = datetime.now(UTC)
    secret = secrets.token_urlsafe(32)
    lifetime = timedelta(hours=current_app.config["DASHBOARD_SESSION_HOURS"])
    db.session.execute(
        sa.delete(DashboardSession).where(
            (DashboardSession.expires_at < now)
            | (DashboardSession.last_seen_at < now - _idle_limit())
        )
    )
    db.session.add(
        DashboardSession(
            id=_digest(secret),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + lifetime,
        )
    )
    user.last_sign_in_at = now
    db.session.commit()
    session.clear()
    session[COOKIE_KEY] = secret


def end():
    """Sign out: delete the session row, then forget the cookie's contents."""
    secret = session.get(COOKIE_KEY)
    if isinstance(secret, str):
        db.session.execute(
            sa.delete(DashboardSession).where(DashboardSession.id == _digest(secret))
        )
        db.session.commit()
    session.clear()


def end_all(user_id):
    """End every session of a user (the caller commits)."""
    db.session.execute(sa.delete(DashboardSession).where(DashboardSession.user_id == user_id))


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
    record = db.session.get(DashboardSession, _digest(secret))
    now = datetime.now(UTC)
    if record is None or not _live(record, now) or not record.user.is_active:
        if record is not None:
            db.session.delete(record)
            db.session.commit()
        session.pop(COOKIE_KEY, None)
        return
    view = current_app.view_functions.get(request.endpoint)
    if not getattr(view, "passive", False) and now - as_utc(record.last_seen_at) >= TOUCH_EVERY:
        record.last_seen_at = now
        db.session.commit()
    g.user = record.user
    g.subject = f"dashboard:{record.user.id}"  # for the logs (an id, not the email)


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

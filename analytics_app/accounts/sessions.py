"""Dashboard sign-in sessions as stored: a random secret's SHA-256 in a row.

The secret travels in the dashboard's signed cookie (``dashboard/access.py``); deleting the
row ends the session, so a copy of the old cookie is worthless afterwards. A session ends
after ``DASHBOARD_SESSION_IDLE_MINUTES`` without a request, and after
``DASHBOARD_SESSION_HOURS`` whatever happens; deactivating a user ends all of theirs, and
changing a password all but the one it was changed in.
"""

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from ..extensions import db
from ..models import DashboardSession
from ..reports.periods import as_utc

# Refresh last_seen_at at most this often, not on every request.
TOUCH_EVERY = timedelta(minutes=1)


def _digest(secret):
    return hashlib.sha256(secret.encode()).hexdigest()


def _idle_limit():
    return timedelta(minutes=current_app.config["DASHBOARD_SESSION_IDLE_MINUTES"])


def _live(record, now):
    return as_utc(record.expires_at) > now and now - as_utc(record.last_seen_at) < _idle_limit()


def start(user):
    """Store a new session for ``user`` (and forget dead ones); return its secret."""
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
    return secret


def end(secret):
    """Delete the session whose secret this is."""
    db.session.execute(sa.delete(DashboardSession).where(DashboardSession.id == _digest(secret)))
    db.session.commit()


def end_all(user_id, keep=None):
    """End every session of a user but the one whose secret is ``keep`` (the caller commits)."""
    query = sa.delete(DashboardSession).where(DashboardSession.user_id == user_id)
    if keep is not None:
        query = query.where(DashboardSession.id != _digest(keep))
    db.session.execute(query)


def user_of(secret, touch=True):
    """The active user of a live session, or None (a dead session is deleted).

    ``touch`` keeps the session alive: a poll that no one asked for passes False.
    """
    record = db.session.get(DashboardSession, _digest(secret))
    now = datetime.now(UTC)
    if record is None or not _live(record, now) or not record.user.is_active:
        if record is not None:
            db.session.delete(record)
            db.session.commit()
        return None
    if touch and now - as_utc(record.last_seen_at) >= TOUCH_EVERY:
        record.last_seen_at = now
        db.session.commit()
    return record.user

"""Sign-in sessions: the cookie's attributes, server-side sign-out and expiry (the throttle on
failed sign-ins is in test_signin_throttle.py)."""

from datetime import UTC, datetime, timedelta

import requests
import sqlalchemy as sa
from fixtures import (  # noqa: F401 - fixtures, requested by name
    anonymous_fixture,
    dashboard_app_fixture,
    server_fixture,
)

from analytics_app.extensions import db
from analytics_app.models import DashboardSession
from analytics_app.reports.periods import as_utc

from helpers import query
from webclient import PASSWORD, Web, add_user, signed_in


def _set_cookie(response):
    return response.headers["Set-Cookie"]


def test_the_session_cookie_is_httponly_lax_and_secure_outside_development(make_app, serve):
    production_like = Web(serve(make_app()).url)  # APP_ENV=test: not development
    cookie = _set_cookie(production_like.get("/dashboard/sign-in"))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" in cookie
    development = Web(serve(make_app(APP_ENV="development")).url)
    assert "Secure" not in _set_cookie(development.get("/dashboard/sign-in"))


def test_signing_in_replaces_the_cookie_and_opens_the_dashboard(dashboard_app, anonymous):
    email = add_user(dashboard_app, "ana@example.com")
    before = anonymous.get("/dashboard/sign-in").cookies["analytics_session"]
    response = anonymous.sign_in(email)
    assert response.status_code == 302
    assert response.headers["Location"] == "/dashboard"
    assert anonymous.cookie() != before
    assert anonymous.get("/dashboard").status_code == 200
    # The cookie from before signing in (a fixation attempt) opens nothing.
    stale = requests.get(
        anonymous.url + "/dashboard", cookies={"analytics_session": before}, allow_redirects=False
    )
    assert stale.status_code == 302


def test_a_wrong_password_or_unknown_user_signs_nobody_in(dashboard_app, anonymous):
    email = add_user(dashboard_app, "ana@example.com")
    for login, password in [(email, "wrong password"), ("nobody@example.com", PASSWORD)]:
        response = anonymous.sign_in(login, password)
        assert response.status_code == 401
        assert "Wrong email address or password." in response.text
    assert anonymous.get("/dashboard").status_code == 302
    assert anonymous.sign_in(email.upper()).status_code == 302  # emails are case-insensitive


def test_sign_out_ends_the_session_on_the_server(dashboard_app, server):
    web = signed_in(server.url, add_user(dashboard_app, "ana@example.com"))
    copied = web.cookie()
    [(stored,)] = query(dashboard_app, "SELECT id FROM dashboard_sessions")
    assert len(stored) == 64  # a SHA-256: the table holds no usable session secret
    assert stored not in copied
    response = web.post("/dashboard/sign-out", {"csrf_token": web.csrf_token()})
    assert response.status_code == 302
    assert response.headers["Location"] == "/dashboard/sign-in"
    assert query(dashboard_app, "SELECT count(*) FROM dashboard_sessions")[0][0] == 0
    replay = requests.get(
        server.url + "/dashboard", cookies={"analytics_session": copied}, allow_redirects=False
    )
    assert replay.status_code == 302
    assert replay.headers["Location"].startswith("/dashboard/sign-in")


def _age_sessions(app, **columns):
    with app.app_context():
        db.session.execute(sa.update(DashboardSession).values(**columns))
        db.session.commit()
        db.session.remove()


def _last_seen(app):
    with app.app_context():
        try:
            return as_utc(db.session.scalar(sa.select(DashboardSession.last_seen_at)))
        finally:
            db.session.remove()


def test_sessions_expire_when_idle_and_at_the_end_of_their_lifetime(dashboard_app, server):
    email = add_user(dashboard_app, "ana@example.com")
    web = signed_in(server.url, email)
    idle = timedelta(minutes=dashboard_app.config["DASHBOARD_SESSION_IDLE_MINUTES"] + 1)
    _age_sessions(dashboard_app, last_seen_at=datetime.now(UTC) - idle)
    assert web.get("/dashboard").status_code == 302
    assert query(dashboard_app, "SELECT count(*) FROM dashboard_sessions")[0][0] == 0

    web = signed_in(server.url, email)
    assert web.get("/dashboard/admin/users").status_code == 403  # alive (and not admin)
    _age_sessions(dashboard_app, expires_at=datetime.now(UTC) - timedelta(seconds=1))
    assert web.get("/dashboard/admin/users").status_code == 302  # however active


def test_polling_does_not_keep_an_idle_session_alive(dashboard_app, server):
    web = signed_in(server.url, add_user(dashboard_app, "ana@example.com"))
    earlier = datetime.now(UTC) - timedelta(minutes=30)
    _age_sessions(dashboard_app, last_seen_at=earlier)
    assert web.get("/dashboard/recent").status_code == 200
    assert abs((_last_seen(dashboard_app) - earlier).total_seconds()) < 1
    assert web.get("/dashboard/admin/users").status_code == 403  # a page view does
    assert (datetime.now(UTC) - _last_seen(dashboard_app)).total_seconds() < 60

"""Who may open what: anonymous visitors go to sign-in, non-admins get 403 on admin pages,
and every state-changing request needs its CSRF token.

Each rule is one test over every route it covers (a case per route would cost a server and a
database reset each); the route is named in the assertion message.
"""

import re

from fixtures import (  # noqa: F401 - fixtures, requested by name
    admin_fixture,
    analyst_fixture,
    anonymous_fixture,
    dashboard_app_fixture,
    server_fixture,
)

from helpers import make_event
from webclient import PASSWORD, Web, add_user

PAGES = [
    "/dashboard",
    "/dashboard/recent",
    "/dashboard/exports/download?format=csv",
    "/dashboard/exports/AAAAAAAAAAAAAAAAAAAAAA",
    "/dashboard/exports/AAAAAAAAAAAAAAAAAAAAAA/file",
    "/dashboard/admin/users",
    "/dashboard/admin/tokens",
    "/dashboard/account/password",
]
FORMS = [
    "/dashboard/exports",
    "/dashboard/admin/users",
    "/dashboard/admin/users/1/deactivate",
    "/dashboard/admin/users/1/activate",
    "/dashboard/admin/users/1/delete",
    "/dashboard/admin/tokens",
    "/dashboard/admin/tokens/some-jti/revoke",
    "/dashboard/account/password",
]
ADMIN_PAGES = [path for path in PAGES if path.startswith("/dashboard/admin")]
ADMIN_FORMS = [path for path in FORMS if path.startswith("/dashboard/admin")]


def test_anonymous_visitors_are_sent_to_sign_in_from_every_route(anonymous):
    assert anonymous.get("/").headers["Location"] == "/dashboard"
    for path in PAGES:
        response = anonymous.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/dashboard/sign-in?next=/dashboard"), path
    for path in FORMS:  # with a valid CSRF token: it is the missing session that counts
        response = anonymous.post(path, {"format": "csv"})
        assert response.status_code == 302, path
        assert response.headers["Location"] == "/dashboard/sign-in", path


def test_an_htmx_request_without_a_session_gets_a_client_redirect(anonymous):
    response = anonymous.get(
        "/dashboard/recent",
        headers={"HX-Request": "true", "HX-Current-URL": anonymous.url + "/dashboard?type=x"},
    )
    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == "/dashboard/sign-in?next=/dashboard?type%3Dx"


def test_admin_pages_and_forms_are_forbidden_to_other_users(analyst):
    for path in ADMIN_PAGES:
        response = analyst.get(path)
        assert response.status_code == 403, path
        assert response.headers["Content-Type"].startswith("text/html"), path
        assert "for administrators" in response.text, path
    for path in ADMIN_FORMS:
        assert analyst.post(path, {"email": "x@example.com", "sub": "x"}).status_code == 403, path
    assert analyst.get("/dashboard").status_code == 200
    assert "/dashboard/admin/" not in analyst.get("/dashboard").text  # no admin links shown


def test_admin_pages_open_for_administrators(admin):
    for path in ADMIN_PAGES:
        assert admin.get(path).status_code == 200, path


def test_every_post_without_the_csrf_token_is_refused(admin):
    for path in ["/dashboard/sign-in", "/dashboard/sign-out", *FORMS]:
        response = admin.post(path, {"email": "admin@example.com", "format": "csv"}, csrf=False)
        assert response.status_code == 400, path
        assert "did not come from this site" in response.text, path
    assert admin.get("/dashboard").status_code == 200  # still signed in: nothing happened


def test_a_csrf_token_from_another_session_is_refused(dashboard_app, server):
    email = add_user(dashboard_app, "victim@example.com")
    attacker, victim = Web(server.url), Web(server.url)
    stolen = attacker.csrf_token()
    victim.csrf_token()  # the victim has a session (and a token) of their own
    response = victim.post(
        "/dashboard/sign-in", {"email": email, "password": PASSWORD, "csrf_token": stolen}
    )
    assert response.status_code == 400
    assert victim.get("/dashboard").status_code == 302


def test_sign_in_brings_the_visitor_back_to_the_page_they_asked_for(dashboard_app, anonymous):
    email = add_user(dashboard_app, "back@example.com")
    asked = anonymous.get("/dashboard/admin/tokens?x=1").headers["Location"]
    response = anonymous.session.post(
        anonymous.url + asked,
        data={"email": email, "password": PASSWORD, "csrf_token": anonymous.csrf_token()},
        allow_redirects=False,
    )
    assert response.headers["Location"] == "/dashboard/admin/tokens?x=1"


def test_sign_in_never_redirects_off_the_dashboard(dashboard_app, server):
    email = add_user(dashboard_app, "safe@example.com")
    for next_page in ["https://evil.example/", "//evil.example/x", "/api/analytics/audit"]:
        web = Web(server.url)
        response = web.session.post(
            web.url + "/dashboard/sign-in",
            params={"next": next_page},
            data={"email": email, "password": PASSWORD, "csrf_token": web.csrf_token()},
            allow_redirects=False,
        )
        assert response.headers["Location"] == "/dashboard", next_page


HUGE = "99999999999999999999999"


def test_unknown_dashboard_addresses_get_an_html_404(admin, anonymous):
    assert anonymous.get("/dashboard/").headers["Location"] == "/dashboard"
    for path in [
        "/dashboard/nothing/here",
        "/dashboard/exports/abc/file",
        f"/dashboard/exports/{HUGE}",
        f"/dashboard/exports/{HUGE}/file",
        "/dashboard/exports/1",
    ]:
        response = admin.get(path)
        assert response.status_code == 404, path
        assert "There is nothing here." in response.text, path
    assert admin.get("/api/analytics/nothing").json()["code"] == 404  # the API keeps JSON


def test_ids_past_the_databases_range_are_404_not_errors(admin):
    """Route ids are bounded (1 to 2**63 - 1): a larger one matches no route."""
    for action in ("deactivate", "activate", "delete"):
        for user_id in (HUGE, "0", "007"):
            path = f"/dashboard/admin/users/{user_id}/{action}"
            response = admin.post(path)
            assert response.status_code == 404, path
            assert "There is nothing here." in response.text, path
        for user_id in (2**63, 2**63 - 1):
            assert admin.post(f"/dashboard/admin/users/{user_id}/{action}").status_code == 404


def test_dashboard_pages_send_security_headers(admin):
    # Kept by no cache, but the overview and its panels, which the browser revalidates.
    assert admin.get("/dashboard/admin/users").headers["Cache-Control"] == "no-store"
    response = admin.get("/dashboard")
    assert response.headers["Cache-Control"] == "private, no-cache"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "script-src 'self';" in response.headers["Content-Security-Policy"]
    assert "HX-Request" in response.headers["Vary"]
    # How long the app took, for the browser's resource timing (bench/first_load_breakdown.py).
    assert re.fullmatch(r"app;dur=\d+\.\d", response.headers["Server-Timing"])


def test_the_api_needs_no_csrf_token_and_sets_no_cookie(client):
    response = client.ingest([make_event()])
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers

"""Admin pages: dashboard users (add, deactivate, delete) and API tokens (minted, shown once,
recorded, working against the API, and revoked)."""

import re

import jwt as pyjwt
from fixtures import (  # noqa: F401 - fixtures, requested by name
    admin_fixture,
    dashboard_app_fixture,
    server_fixture,
)

from helpers import SECRET, Client, make_event, query
from webclient import FAST_HASH, PASSWORD, Web, add_user, signed_in

TOKEN = re.compile(r'<code id="new-token">([^<]+)</code>')


def _user_id(app, email):
    return query(app, "SELECT id FROM dashboard_users WHERE email = :e", e=email)[0][0]


def test_an_admin_adds_a_user_who_can_then_sign_in(admin, server, dashboard_app):
    response = admin.post(
        "/dashboard/admin/users", {"email": "New@Example.com", "password": "long enough pw"}
    )
    assert response.status_code == 302
    page = admin.get("/dashboard/admin/users").text
    assert "Added new@example.com." in page
    [(stored_hash, is_admin)] = query(
        dashboard_app,
        "SELECT password_hash, is_admin FROM dashboard_users WHERE email = 'new@example.com'",
    )
    assert "long enough pw" not in stored_hash
    assert not is_admin
    assert Web(server.url).sign_in("new@example.com", "long enough pw").status_code == 302


def test_adding_a_user_refuses_duplicates_and_short_passwords(admin):
    duplicate = admin.post(
        "/dashboard/admin/users", {"email": "admin@example.com", "password": "long enough pw"}
    )
    assert duplicate.status_code == 422
    assert "already exists" in duplicate.text
    short = admin.post("/dashboard/admin/users", {"email": "x@example.com", "password": "short"})
    assert short.status_code == 422
    assert "at least 8 characters" in short.text


def test_deactivating_a_user_ends_their_sessions_at_once(admin, server, dashboard_app):
    email = add_user(dashboard_app, "leaver@example.com")
    leaver = signed_in(server.url, email)
    user_id = _user_id(dashboard_app, email)
    assert admin.post(f"/dashboard/admin/users/{user_id}/deactivate").status_code == 302
    assert leaver.get("/dashboard").status_code == 302
    assert Web(server.url).sign_in(email).status_code == 401
    assert admin.post(f"/dashboard/admin/users/{user_id}/activate").status_code == 302
    assert Web(server.url).sign_in(email).status_code == 302


def test_deleting_a_user_removes_them_and_their_sessions(admin, server, dashboard_app):
    email = add_user(dashboard_app, "gone@example.com")
    gone = signed_in(server.url, email)
    assert admin.post(f"/dashboard/admin/users/{_user_id(dashboard_app, email)}/delete")
    assert query(dashboard_app, "SELECT count(*) FROM dashboard_users WHERE email = :e", e=email)[
        0
    ] == (0,)
    assert gone.get("/dashboard").status_code == 302


def test_admins_cannot_lock_themselves_out(admin, dashboard_app):
    own_id = _user_id(dashboard_app, "admin@example.com")
    for action in ("deactivate", "delete"):
        admin.post(f"/dashboard/admin/users/{own_id}/{action}")
        page = admin.get("/dashboard/admin/users")
        assert page.status_code == 200, action
        assert "You cannot deactivate or delete your own account." in page.text


def test_a_minted_token_is_shown_once_recorded_and_works(admin, server, dashboard_app):
    response = admin.post(
        "/dashboard/admin/tokens", {"sub": "web-shop", "ttl": "7d", "scopes": ["analytics:read"]}
    )
    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"
    token = TOKEN.search(response.text).group(1)
    claims = pyjwt.decode(token, SECRET, algorithms=["HS256"])
    assert claims["sub"] == "web-shop"
    assert claims["scope"] == "analytics:read"
    assert claims["exp"] - claims["iat"] == 7 * 86400

    [(jti, sub, scopes, created_by)] = query(
        dashboard_app, "SELECT jti, sub, scopes, created_by FROM api_tokens"
    )
    assert (jti, sub, scopes, created_by) == (
        claims["jti"],
        "web-shop",
        "analytics:read",
        "admin@example.com",
    )
    listing = admin.get("/dashboard/admin/tokens").text
    assert claims["jti"] in listing
    assert token not in listing  # shown once, never again

    api = Client(server.url, token)
    assert api.ingest([make_event()]).status_code == 200
    assert api.get("/api/analytics/reports/engagement").status_code == 200

    # Without scopes: a token for a web page, which may ingest and read nothing.
    response = admin.post("/dashboard/admin/tokens", {"sub": "landing-page", "ttl": "1d"})
    ingest_only = Client(server.url, TOKEN.search(response.text).group(1))
    assert ingest_only.ingest([make_event()]).status_code == 200
    assert ingest_only.get("/api/analytics/reports/engagement").status_code == 403


def test_minting_refuses_bad_subjects_and_scopes(admin, dashboard_app):
    for form in [
        {"sub": "", "ttl": "1d"},
        {"sub": "has spaces", "ttl": "1d"},
        {"sub": "ok", "ttl": "forever"},
        {"sub": "ok", "ttl": "1d", "scopes": ["analytics:root"]},
    ]:
        assert admin.post("/dashboard/admin/tokens", form).status_code == 422, form
    assert query(dashboard_app, "SELECT count(*) FROM api_tokens")[0] == (0,)


def test_an_admin_revokes_a_token_and_the_api_refuses_it(admin, server, dashboard_app):
    minted = admin.post("/dashboard/admin/tokens", {"sub": "web-shop", "ttl": "7d"})
    token = TOKEN.search(minted.text).group(1)
    jti = pyjwt.decode(token, SECRET, algorithms=["HS256"])["jti"]
    api = Client(server.url, token)
    assert api.ingest([make_event()]).status_code == 200
    assert (
        f'action="/dashboard/admin/tokens/{jti}/revoke"'
        in admin.get("/dashboard/admin/tokens").text
    )

    assert admin.post(f"/dashboard/admin/tokens/{jti}/revoke", csrf=False).status_code == 400
    assert api.ingest([make_event()]).status_code == 200
    revoked = admin.post(f"/dashboard/admin/tokens/{jti}/revoke")
    assert revoked.status_code == 302
    assert api.ingest([make_event()]).status_code == 401
    page = admin.get("/dashboard/admin/tokens").text
    assert f"Revoked the token {jti} of web-shop." in page
    assert 'data-status="revoked"' in page
    assert "by admin@example.com" in page
    [(revoked_by,)] = query(dashboard_app, "SELECT revoked_by FROM api_tokens")
    assert revoked_by == "admin@example.com"
    assert admin.post("/dashboard/admin/tokens/no-such-jti/revoke").status_code == 404


def test_the_dashboard_offers_lifetimes_within_the_max_ttl(make_app, serve):
    app = make_app(TOKEN_MAX_TTL="7d")
    app.config.update(SESSION_COOKIE_SECURE=False, DASHBOARD_PASSWORD_HASH=FAST_HASH)
    admin = signed_in(serve(app).url, add_user(app, "admin@example.com", admin=True))
    page = admin.get("/dashboard/admin/tokens").text
    offered = re.findall(r'<option (?:selected )?value="(\w+)"', page)
    assert offered == ["1h", "1d", "7d"]
    assert re.search(r'<option selected value="7d"', page)
    assert admin.post("/dashboard/admin/tokens", {"sub": "x", "ttl": "30d"}).status_code == 422
    assert admin.post("/dashboard/admin/tokens", {"sub": "x", "ttl": "7d"}).status_code == 201


def test_the_token_list_includes_tokens_minted_by_the_cli(admin, dashboard_app):
    result = dashboard_app.test_cli_runner().invoke(
        args=["analytics", "token", "create", "--sub", "billing", "--scope", "analytics:admin"]
    )
    assert result.exit_code == 0, result.output
    page = admin.get("/dashboard/admin/tokens").text
    assert "billing" in page
    assert "analytics:admin" in page
    assert ">cli<" in page


def test_user_create_cli_takes_the_password_or_prompts_for_it(dashboard_app, server):
    runner = dashboard_app.test_cli_runner()
    result = runner.invoke(
        args=[
            "analytics",
            "user",
            "create",
            "--email",
            "Ops@Example.com",
            "--admin",
            "--password",
            PASSWORD,
        ]
    )
    assert result.exit_code == 0, result.output
    assert "created administrator ops@example.com" in result.output
    prompted = runner.invoke(
        args=["analytics", "user", "create", "--email", "viewer@example.com"],
        input="typed secret 1\ntyped secret 1\n",
    )
    assert prompted.exit_code == 0, prompted.output
    assert "created user viewer@example.com" in prompted.output
    assert "typed secret 1" not in prompted.output

    assert signed_in(server.url, "ops@example.com").get("/dashboard/admin/users").status_code == 200
    viewer = signed_in(server.url, "viewer@example.com", "typed secret 1")
    assert viewer.get("/dashboard/admin/users").status_code == 403

    base = ["analytics", "user", "create", "--email"]
    duplicate = runner.invoke(args=[*base, "OPS@example.com", "--password", PASSWORD])
    assert duplicate.exit_code == 1
    assert "already exists" in duplicate.output
    short = runner.invoke(args=[*base, "b@example.com", "--password", "short"])
    assert short.exit_code == 1
    assert "8 to 1024 characters" in short.output

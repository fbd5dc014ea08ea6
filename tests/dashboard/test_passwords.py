"""Passwords: guessable ones are refused everywhere one is set; a signed-in user changes their
own, which ends their other sessions."""

import pytest
from fixtures import (  # noqa: F401 - fixtures, requested by name
    admin_fixture,
    dashboard_app_fixture,
    server_fixture,
)

from analytics_app.accounts import passwords

from helpers import query
from webclient import PASSWORD, Web, add_user, csrf_from, signed_in

WEAK = ["password", "12345678", "qwertyuiop", "Password1", "ana@example.com1"]
PAGE = "/dashboard/account/password"


@pytest.mark.parametrize("weak", WEAK)
def test_guessable_passwords_are_refused_with_advice(weak):
    with pytest.raises(passwords.WeakPasswordError, match="too easy to guess"):
        passwords.check(weak, ["ana@example.com", "ana"])


def test_a_long_passphrase_is_accepted_and_so_is_a_very_long_one():
    passwords.check("correct horse battery")
    passwords.check("plum-orbit-" * 90)  # only its first characters are estimated


@pytest.mark.parametrize("weak", ["password", "12345678"])
def test_the_cli_refuses_a_weak_password(dashboard_app, weak):
    result = dashboard_app.test_cli_runner().invoke(
        args=["analytics", "user", "create", "--email", "b@example.com", "--password", weak]
    )
    assert result.exit_code == 1
    assert "too easy to guess" in result.output
    assert query(dashboard_app, "SELECT count(*) FROM dashboard_users")[0][0] == 0


@pytest.mark.parametrize("weak", ["password", "12345678"])
def test_an_admin_cannot_give_a_user_a_weak_password(admin, weak):
    refused = admin.post("/dashboard/admin/users", {"email": "x@example.com", "password": weak})
    assert refused.status_code == 422
    assert "too easy to guess" in refused.text
    assert "x@example.com" not in admin.get("/dashboard/admin/users").text.split("<table")[1]


def change(web, current, new, repeat=None):
    csrf = csrf_from(web.get(PAGE).text)
    form = {"current": current, "new": new, "repeat": new if repeat is None else repeat}
    return web.post(PAGE, {**form, "csrf_token": csrf})


def test_changing_the_password_ends_every_other_session(dashboard_app, server):
    email = add_user(dashboard_app, "ana@example.com")
    laptop, phone = signed_in(server.url, email), signed_in(server.url, email)
    changed = change(laptop, PASSWORD, "velvet thunder orchard")
    assert changed.status_code == 302
    assert "Your password is changed" in laptop.get("/dashboard", allow_redirects=True).text
    assert phone.get("/dashboard").status_code == 302  # signed out
    assert query(dashboard_app, "SELECT count(*) FROM dashboard_sessions")[0][0] == 1
    assert Web(server.url).sign_in(email).status_code == 401  # the old password
    assert Web(server.url).sign_in(email, "velvet thunder orchard").status_code == 302


@pytest.mark.parametrize(
    ("current", "new", "repeat", "message"),
    [
        ("wrong password", "velvet thunder orchard", None, "not your current password"),
        (PASSWORD, "password", None, "too easy to guess"),
        (PASSWORD, "12345678", None, "too easy to guess"),
        (PASSWORD, "velvet thunder orchard", "velvet thunder orchid", "differ"),
        (PASSWORD, "short", None, "at least 8 characters"),
    ],
)
def test_a_refused_change_keeps_the_password(dashboard_app, server, current, new, repeat, message):
    email = add_user(dashboard_app, "ana@example.com")
    web = signed_in(server.url, email)
    refused = change(web, current, new, repeat)
    assert refused.status_code == 422
    assert message in refused.text
    assert Web(server.url).sign_in(email).status_code == 302


def test_guessing_the_current_password_is_throttled_like_a_sign_in(dashboard_app, server):
    web = signed_in(server.url, add_user(dashboard_app, "ana@example.com"))
    statuses = [change(web, f"guess {n}", "velvet thunder orchard").status_code for n in range(6)]
    assert statuses == [422] * 5 + [429]


def test_changing_a_password_needs_the_csrf_token_and_a_session(dashboard_app, server):
    email = add_user(dashboard_app, "ana@example.com")
    web = signed_in(server.url, email)
    form = {
        "current": PASSWORD,
        "new": "velvet thunder orchard",
        "repeat": "velvet thunder orchard",
    }
    assert web.post(PAGE, form, csrf=False).status_code == 400
    assert Web(server.url).get(PAGE).status_code == 302
    assert Web(server.url).sign_in(email).status_code == 302

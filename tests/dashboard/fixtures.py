"""Fixtures shared by the dashboard tests.

A second conftest.py would collide with tests/conftest.py by module name, so test modules
import the fixtures they use from here; each fixture function is named ``*_fixture`` and
registered under its short name, so a test's arguments do not shadow the import. The fast
tests run on both backends through ``make_app``.
"""

import pytest

from webclient import FAST_HASH, Web, add_user, forget_sign_in_failures, signed_in


@pytest.fixture(name="dashboard_app")
def dashboard_app_fixture(make_app):
    """An app whose session cookie works over the live server's plain HTTP."""
    app = make_app()
    app.config["SESSION_COOKIE_SECURE"] = False
    app.config["DASHBOARD_PASSWORD_HASH"] = FAST_HASH
    forget_sign_in_failures(app)
    yield app
    forget_sign_in_failures(app)


@pytest.fixture(name="server")
def server_fixture(dashboard_app, serve):
    return serve(dashboard_app)


@pytest.fixture(name="admin")
def admin_fixture(dashboard_app, server):
    """A ``Web`` client signed in as an administrator."""
    return signed_in(server.url, add_user(dashboard_app, "admin@example.com", admin=True))


@pytest.fixture(name="analyst")
def analyst_fixture(dashboard_app, server):
    """A ``Web`` client signed in as a user who is not an administrator."""
    return signed_in(server.url, add_user(dashboard_app, "analyst@example.com"))


@pytest.fixture(name="anonymous")
def anonymous_fixture(server):
    return Web(server.url)

"""The dashboard tests' HTTP client and helpers: users, sign-in, CSRF tokens, a served site."""

import re
from contextlib import contextmanager

import redis
import requests
from flask_migrate import upgrade

from analytics_app import ROOT, create_app
from analytics_app.accounts import throttle, users
from analytics_app.extensions import db

from conftest import REDIS_URL, base_env, postgres_database
from helpers import LiveServer, SourceAddressAdapter

PASSWORD = "correct horse battery"
# Hashing with scrypt takes 0.1 s; the tests sign in often, so they hash cheaply.
FAST_HASH = "pbkdf2:sha256:1000"
CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_from(html):
    """The CSRF token of the first form in a page."""
    match = CSRF_FIELD.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def forget_sign_in_failures(app):
    """Give ``app`` a fresh sign-in throttle, and delete the counts it keeps in Redis (they
    outlive any one app)."""
    if app.config["REDIS_URL"]:
        client = redis.Redis.from_url(app.config["REDIS_URL"])
        for key in client.scan_iter(f"{throttle.KEY_PREFIX}:*"):
            client.delete(key)
        client.close()
    throttle.init_app(app)


def add_user(app, email, admin=False, password=PASSWORD):
    """Create a dashboard user directly; return the email."""
    with app.app_context():
        users.create(email, password, is_admin=admin)
    return email


class Web:
    """A browser-like HTTP client of the dashboard: cookies, CSRF tokens, no redirects; from
    another loopback ``address`` when given."""

    def __init__(self, url, address=None):
        self.url = url
        self.session = requests.Session()
        if address is not None:
            self.session.mount("http://", SourceAddressAdapter(address))

    def get(self, path, **kwargs):
        kwargs.setdefault("allow_redirects", False)
        return self.session.get(self.url + path, timeout=30, **kwargs)

    def post(self, path, data=None, csrf=True, **kwargs):
        """POST a form, with the CSRF token of the sign-in page's session unless told not to."""
        data = dict(data or {})
        if csrf:
            data.setdefault("csrf_token", self.csrf_token())
        kwargs.setdefault("allow_redirects", False)
        return self.session.post(self.url + path, data=data, timeout=30, **kwargs)

    def csrf_token(self):
        """A valid CSRF token for this client's session (read from a page that has one)."""
        page = self.get("/dashboard/sign-in", allow_redirects=True)
        return csrf_from(page.text)

    def sign_in(self, email, password=PASSWORD):
        return self.post("/dashboard/sign-in", {"email": email, "password": password})

    def cookie(self):
        return self.session.cookies.get("analytics_session")


def signed_in(url, email, password=PASSWORD, address=None):
    """A ``Web`` client signed in as ``email``."""
    web = Web(url, address)
    response = web.sign_in(email, password)
    assert response.status_code == 302, response.text
    return web


@contextmanager
def live_site(seed):
    """The app on a throwaway PostgreSQL database (with Redis), ``seed(app)`` run in its app
    context, served over plain HTTP (so the session cookie is not ``Secure``) with cheap
    password hashes; yields the server, with ``app`` and ``database_url``."""
    url, drop = postgres_database()
    app = create_app(base_env({"DATABASE_URL": url, "REDIS_URL": REDIS_URL}))
    app.config.update(SESSION_COOKIE_SECURE=False, DASHBOARD_PASSWORD_HASH=FAST_HASH)
    server = None
    try:
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"))
            seed(app)
            db.session.remove()
        server = LiveServer(app)
        server.app, server.database_url = app, url
        yield server
    finally:
        if server is not None:
            server.stop()
        with app.app_context():
            db.engine.dispose()
        drop()

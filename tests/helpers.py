"""Test helpers: a live HTTP server, an HTTP client, PyJWT-made tokens, sample events."""

import re
import threading
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import jwt as pyjwt
import requests
from requests.adapters import HTTPAdapter
from sqlalchemy import text
from werkzeug.serving import make_server

from analytics_app import erasure
from analytics_app.extensions import db

SECRET = "test-secret-Vq3Rk8Zp1Lm7Nw4Xs9Bt2Hy6Dc5Gf0JuEa-oW7iT1yU2eR3qS4aZ5xC6vB8nM9kL0"


class LiveServer:
    """A real HTTP server (Werkzeug, threaded) serving an app on an ephemeral port."""

    def __init__(self, app):
        self.app = app
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()

    def stop(self):
        self._server.shutdown()
        self._thread.join()


class SourceAddressAdapter(HTTPAdapter):
    """Connect from a given local address (any 127.x.y.z reaches the loopback server)."""

    def __init__(self, address):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, source_address=(self.address, 0), **kwargs)


class Client:
    """requests, bound to a server's base URL and (by default) an ingest token."""

    def __init__(self, url, token):
        self.url = url
        self.token = token
        self.session = requests.Session()

    def request(self, method, path, token=..., headers=None, **kwargs):
        headers = dict(headers or {})
        token = self.token if token is ... else token
        if token is not None:
            headers.setdefault("Authorization", f"Bearer {token}")
        response = self.session.request(
            method, self.url + path, headers=headers, timeout=30, **kwargs
        )
        if response.headers.get("Content-Type", "").startswith("application/json"):
            assert_times_have_offsets(response.json())
        return response

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.request("POST", path, **kwargs)

    def ingest(self, events, **kwargs):
        return self.post("/api/analytics/ingest", json=events, **kwargs)


# Anything that starts like a date and a time of day must be a full RFC 3339 time with an
# offset, or strict clients (generated ones among them) fail to parse it.
_LOOKS_LIKE_A_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")


def assert_times_have_offsets(body, where="body"):
    """Fail on any time in a JSON answer that is not RFC 3339 with an offset."""
    if isinstance(body, dict):
        for key, value in body.items():
            assert_times_have_offsets(value, f"{where}.{key}")
    elif isinstance(body, list):
        for index, value in enumerate(body):
            assert_times_have_offsets(value, f"{where}[{index}]")
    elif isinstance(body, str) and _LOOKS_LIKE_A_TIME.match(body):
        assert _RFC3339.fullmatch(body), f"{where} = {body!r} is not RFC 3339 with an offset"


def make_token(
    sub=None, scope=None, *, expires_in=timedelta(hours=1), key=SECRET, algorithm="HS256", **claims
):
    """Sign a token with PyJWT, as any third-party service would."""
    now = datetime.now(UTC)
    payload = {"sub": sub or f"svc-{uuid.uuid4().hex[:8]}", "iat": now, **claims}
    if expires_in is not None:
        payload["exp"] = now + expires_in
    if scope is not None:
        payload["scope"] = scope
    return pyjwt.encode(payload, key, algorithm=algorithm)


def make_event(**overrides):
    """A valid event, close to now, with a fresh client id."""
    event = {
        "id": str(uuid.uuid4()),
        "ts": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "user_id": "user-123",
        "type": "page_view",
        "src": "web_app",
        "payload": {"page": "/dashboard", "session_id": "sess-456"},
    }
    event.update(overrides)
    return {key: value for key, value in event.items() if value is not ...}


def query(app, sql, **params):
    """Run a read query against the app's database; return all rows."""
    with app.app_context():
        try:
            return db.session.execute(text(sql), params).all()
        finally:
            db.session.remove()


def execute(app, sql, **params):
    """Run a writing statement against the app's database, and commit."""
    with app.app_context():
        db.session.execute(text(sql), params)
        db.session.commit()
        db.session.remove()


def postgres(app):
    """Whether the app runs on PostgreSQL (the rollups' bitmaps and funnel rows are its own)."""
    return app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")


def erase_numbered(app, user_id):
    """Erase ``user_id`` (request and run, as the worker does); return the number the
    rollups gave the user before, or None (SQLite numbers no one)."""
    numbered = postgres(app) and query(
        app, "SELECT number FROM user_numbers WHERE user_id = :u", u=user_id
    )
    with app.app_context():
        job = erasure.request_erasure(user_id, "test", "request")
        erasure.run(job.id)
        db.session.remove()
    return numbered[0][0] if numbered else None


def today(tz="UTC"):
    """Today's date in zone ``tz`` (a name)."""
    return datetime.now(ZoneInfo(tz)).date()


def count_events(app):
    return query(app, "SELECT count(*) FROM events")[0][0]

"""End to end: the built SDK in headless Chromium, against the real server on PostgreSQL.

The page is served from its own origin (a second port), so the browser posts cross-origin and
the server's CORS answers are exercised for real. The server is gunicorn in a subprocess on a
throwaway PostgreSQL database; the test kills it (SIGKILL, master and workers) while the page
keeps tracking, starts it again on the same port and checks that every event arrived once.

Needs Debian's Chromium (/usr/bin/chromium) and the ``playwright`` package (its Python driver
only: no browser download). Without them the tests are skipped, except under ``CI=true``,
where they fail; ``.ci/setup`` installs Chromium where it can.
"""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import psycopg
import pytest
import requests

from analytics_app import ROOT

from browser import LOCAL_HOSTS, chromium
from conftest import REDIS_URL, base_env, postgres_database
from helpers import make_token

EVENTS = 300  # tracked by the page, one every TRACK_EVERY_MS
TRACK_EVERY_MS = 20
KILL_AFTER_STORED = 60  # the server is killed once this many events are in the database
OUTAGE_SECONDS = 1.5  # how long it stays down (the page tracks on) before the restart
DRAIN_DEADLINE_SECONDS = 60

# Short timings, so that retries and the pause after maxRetries take milliseconds, not minutes.
SDK_OPTIONS = {
    "endpoint": "/api/e",
    "flushAt": 10,
    "flushInterval": 250,
    "retryDelay": 100,
    "maxRetryDelay": 400,
    "maxRetries": 5,
    "timeout": 3000,
}

PAGE = """<!doctype html>
<meta charset="utf-8">
<title>SDK end to end</title>
<script src="{server}/static/sdk/analytics.min.js"></script>
<script>
  const client = new Analytics.AnalyticsClient({server_json}, {token}, {options});
  window.client = client;
  window.tracked = 0;
  const timer = setInterval(() => {{
    client.track('button_click', {{ seq: window.tracked }}, 'e2e-user');
    window.tracked += 1;
    if (window.tracked === {events}) clearInterval(timer);
  }}, {every});
</script>
"""


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(condition, timeout, interval=0.05):
    """Poll ``condition`` until it returns something truthy; return it, or None at the deadline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(interval)
    return None


class Gunicorn:
    """The real server, ``gunicorn wsgi:app``, in its own process group on a fixed port."""

    def __init__(self, env, log_path):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **env}
        self.log_path = log_path
        self.process = None

    def start(self):
        # No control socket: gunicorn would otherwise put one in ~/.gunicorn, shared by all.
        command = [sys.executable, "-m", "gunicorn", "--workers", "2", "--no-control-socket"]
        command += ["--bind", f"127.0.0.1:{self.port}", "--access-logfile", "-", "wsgi:app"]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        if not _wait_for(self._ready, timeout=30, interval=0.1):
            self.kill()
            pytest.fail(f"gunicorn did not come up on {self.url}:\n{self.log_tail()}")

    def _ready(self):
        if self.process.poll() is not None:
            pytest.fail(f"gunicorn exited with {self.process.returncode}:\n{self.log_tail()}")
        try:
            return requests.get(self.url + "/api/analytics/healthz", timeout=1).ok
        except requests.RequestException:  # not listening yet, or a worker still booting
            return False

    def kill(self):
        """SIGKILL the master and its workers at once: a crash, not a shutdown."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):  # the group is already gone
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.process = None

    def log_tail(self, lines=40):
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


class PageServer:
    """A second origin: serves ``html`` at ``/`` from a thread."""

    def __init__(self):
        self.html = ""
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                body = owner.html.encode() if self.path == "/" else b""
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}/"
        self._thread = threading.Thread(
            target=partial(self._server.serve_forever, 0.05), daemon=True
        )
        self._thread.start()

    def stop(self):
        self._server.shutdown()
        self._thread.join()
        self._server.server_close()


@pytest.fixture(scope="module")
def database():
    """A migrated throwaway PostgreSQL database (Redis db 15 for the rate limiter)."""
    from flask_migrate import upgrade

    from analytics_app import create_app
    from analytics_app.extensions import db

    url, drop = postgres_database()
    env = base_env({"DATABASE_URL": url, "REDIS_URL": REDIS_URL})
    try:
        app = create_app(env)
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"))
            db.engine.dispose()
        yield env
    finally:
        drop()


@pytest.fixture
def server(database, tmp_path):
    """gunicorn on the test database; killed after the test, whatever happened."""
    gunicorn = Gunicorn(database, tmp_path / "gunicorn.log")
    try:
        gunicorn.start()
        yield gunicorn
    finally:
        gunicorn.kill()


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture
def page_origin():
    """The page's own origin, another port than the server's: the SDK posts cross-origin."""
    origin = PageServer()
    yield origin
    origin.stop()


@pytest.fixture
def context(browser):
    """A fresh browser profile (empty localStorage), closed after the test."""
    context = browser.new_context()
    yield context
    context.close()


def _database_counts(database_env):
    """(rows, distinct client ids, sequence numbers) in the events table."""
    with psycopg.connect(database_env["DATABASE_URL"]) as connection:
        rows, distinct = connection.execute(
            "SELECT count(*), count(DISTINCT client_id) FROM events"
        ).fetchone()
        seqs = [row[0] for row in connection.execute("SELECT payload->>'seq' FROM events")]
    return rows, distinct, seqs


def _stored(database_env):
    return _database_counts(database_env)[0]


def test_the_bundle_is_served_as_javascript(server):
    response = requests.get(server.url + "/static/sdk/analytics.min.js", timeout=5)

    assert response.status_code == 200
    content_type = response.headers["Content-Type"].split(";")[0].strip()
    assert content_type in ("text/javascript", "application/javascript")
    assert response.content == (ROOT / "static/sdk/analytics.min.js").read_bytes()


def test_every_event_tracked_through_a_server_crash_is_stored_exactly_once(
    server, database, page_origin, context
):
    """The page tracks on a timer while gunicorn is SIGKILLed and restarted on the same port.

    The SDK must retry what failed (network errors while the server is down) and the server
    must skip ids it already stored, so the database ends with each event exactly once.
    """
    page_origin.html = PAGE.format(
        server=server.url,
        server_json=json.dumps(server.url),
        token=json.dumps(make_token(sub="e2e-browser")),
        options=json.dumps(SDK_OPTIONS),
        events=EVENTS,
        every=TRACK_EVERY_MS,
    )
    requested, failed, errors = [], [], []
    context.on("request", lambda request: requested.append(request.url))
    context.on("requestfailed", lambda request: failed.append(request.url))
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))

    def diagnosis():
        stats = page.evaluate("[window.tracked, window.client && window.client.stats()]")
        return (
            f"tracked and stats: {stats}; stored: {_stored(database)}; page errors: {errors}\n"
            f"gunicorn log:\n{server.log_tail()}"
        )

    page.goto(page_origin.url)
    assert page.evaluate("typeof window.Analytics.AnalyticsClient") == "function"

    assert _wait_for(lambda: _stored(database) >= KILL_AFTER_STORED, 20), diagnosis()
    server.kill()
    tracked_at_kill = page.evaluate("window.tracked")
    time.sleep(OUTAGE_SECONDS)
    server.start()
    tracked_at_restart = page.evaluate("window.tracked")

    drained = _wait_for(
        lambda: page.evaluate(f"window.tracked === {EVENTS} && window.client.stats().queued === 0"),
        DRAIN_DEADLINE_SECONDS,
        interval=0.1,
    )
    assert drained, diagnosis()
    stats = page.evaluate("window.client.stats()")

    # The crash happened mid-stream, and the SDK saw it: failed requests, then retries.
    assert tracked_at_kill < EVENTS
    assert tracked_at_restart > tracked_at_kill
    assert server.url + SDK_OPTIONS["endpoint"] in failed
    assert stats["retries"] > 0
    assert stats["sent"] == EVENTS
    assert stats["dropped"] == 0
    assert not errors

    rows, distinct, seqs = _database_counts(database)
    assert rows == EVENTS
    assert distinct == EVENTS
    assert sorted(int(seq) for seq in seqs) == list(range(EVENTS))

    assert {urlsplit(url).hostname for url in requested} <= LOCAL_HOSTS

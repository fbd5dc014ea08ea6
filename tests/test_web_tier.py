"""The web tier as production runs it: gunicorn with the project's config, behind Debian's nginx
with the shipped configuration (README, "Production"), over TLS.

Slow clients never reach a Python worker; nginx's own refusals and gunicorn's are in the
service's JSON envelope for the API; the app sees the client's address, not the proxy's; metrics
are not routed; plain HTTP is sent to HTTPS; and a browser signs in over it.
"""

import json
import re
import socket
import ssl
from collections import namedtuple

import pytest
import requests
from flask_migrate import upgrade

from analytics_app import ROOT, create_app
from analytics_app.accounts import users
from analytics_app.extensions import db

from browser import chromium
from conftest import REDIS_URL, base_env, postgres_database
from helpers import make_event, make_token
from processes import free_port, gunicorn
from proxy import TEMPLATE, VARIABLES, nginx
from slow_clients import Target, body_start, header_start, trickle_while_probing

HOST = "localhost"
ADMIN = make_token(sub="edge-admin", scope="analytics:admin")
PASSWORD = "tls-sign-in-passphrase-42"
Stack = namedtuple("Stack", "proxy gunicorn_url https_port")


@pytest.fixture(scope="module")
def database():
    """A migrated throwaway PostgreSQL database, with Redis: production's backends."""
    url, drop = postgres_database()
    env = {"DATABASE_URL": url, "REDIS_URL": REDIS_URL}
    app = create_app(base_env(env))
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        users.create("tls@example.com", PASSWORD)
        db.engine.dispose()
    yield env
    drop()


@pytest.fixture(scope="module")
def stack(database, tmp_path_factory):
    """gunicorn (4 sync workers, production settings) behind nginx."""
    folder = tmp_path_factory.mktemp("web-tier")
    settings = {"APP_ENV": "production", "TRUSTED_HOSTS": HOST, "TRUSTED_PROXIES": "1"}
    with gunicorn(database, folder / "gunicorn.log", workers=4, **settings) as (url, _):
        upstream = url.removeprefix("http://")
        https_port, http_port = free_port(), free_port()
        with nginx(folder / "nginx", upstream, https_port, http_port, host=HOST) as proxy:
            yield Stack(proxy, url, https_port)


def https(stack, method, path, **kwargs):
    return requests.request(
        method,
        stack.proxy.https_url + path,
        verify=str(stack.proxy.certificate),
        allow_redirects=False,
        timeout=10,
        **kwargs,
    )


def raw(port, request, tls=True, timeout=15):
    """Send bytes as they are; return the status code, headers and body of the answer."""
    connection = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    if tls:
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        connection = context.wrap_socket(connection, server_hostname=HOST)
    with connection:
        connection.sendall(request)
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += connection.recv(65536)
        head, _, body = answer.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {name.lower(): value for name, value in (line.split(": ", 1) for line in lines)}
        while len(body) < int(headers.get("content-length", 0)):
            body += connection.recv(65536)
    return int(status_line.split()[1]), headers, body


def request_bytes(path, *headers, method="GET", host=HOST):
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", *headers, "Connection: close"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def assert_json_envelope(status, headers, body, expected):
    assert status == expected
    assert headers["content-type"] == "application/json"
    assert headers["x-content-type-options"] == "nosniff"
    envelope = json.loads(body)
    assert envelope["code"] == expected and envelope["status"] and envelope["message"]
    assert b"<html" not in body


def test_slow_clients_never_delay_health_checks(stack):
    """The README's promise: 200 connections trickling headers and 200 trickling bodies (to
    ingest and the sign-in form) for 30 s; /healthz answers within 1 s all along."""
    token = make_token(sub="trickler")
    requests_ = [header_start(HOST)] * 200
    requests_ += [body_start(HOST, "/api/analytics/ingest", "application/json", token)] * 100
    form = "application/x-www-form-urlencoded"
    requests_ += [body_start(HOST, "/dashboard/sign-in", form)] * 100
    target = Target(stack.https_port, HOST, tls=True)
    pressure, probe = trickle_while_probing(target, requests_, seconds=30)
    summary = probe.summary()
    assert pressure.opened >= 400
    assert pressure.closed_by_server >= 200, "nginx cuts a header that takes over 10 s"
    assert probe.failures == []
    assert summary["probes"] >= 60
    assert summary["max_s"] < 1.0, summary


@pytest.mark.parametrize(
    ("request_", "status", "kind"),
    [
        (request_bytes("/api/analytics/" + "a" * 9000), 414, "json"),
        (request_bytes("/api/analytics/healthz", "X-Big: " + "a" * 9000), 431, "json"),
        (request_bytes("/dashboard/sign-in", "X-Big: " + "a" * 9000), 431, "html"),
        (b"NONSENSE\r\n\r\n", 400, "json"),
        (
            request_bytes("/api/analytics/ingest", "Content-Length: 6000000", method="POST"),
            413,
            "json",
        ),
        (
            request_bytes("/dashboard/sign-in", "Content-Length: 6000000", method="POST"),
            413,
            "html",
        ),
        (request_bytes("/metrics"), 404, "html"),
        (request_bytes("/api/analytics/metrics"), 404, "json"),
    ],
)
def test_what_nginx_refuses_is_json_for_the_api_and_a_page_elsewhere(stack, request_, status, kind):
    code, headers, body = raw(stack.https_port, request_)
    if kind == "json":
        assert_json_envelope(code, headers, body, status)
    else:
        assert code == status
        assert headers["content-type"].startswith("text/html")
        assert headers["x-frame-options"] == "DENY"
        assert b"nginx" not in body


@pytest.mark.parametrize(
    ("request_", "status"),
    [
        (request_bytes("/api/analytics/healthz", *(f"X-H{n}: v" for n in range(150))), 431),
        (request_bytes("/api/analytics/healthz", "X-Control: a\x01b"), 400),
        (request_bytes("/api/analytics/h\xe9"), 400),
    ],
)
def test_what_gunicorn_refuses_is_json_with_or_without_the_proxy(stack, request_, status):
    """nginx lets these through (it counts no headers, allows any byte above 0x7f); gunicorn
    refuses them itself, in the envelope rather than its HTML page."""
    assert_json_envelope(*raw(stack.https_port, request_), status)
    gunicorn_port = int(stack.gunicorn_url.rsplit(":", 1)[1])
    assert_json_envelope(*raw(gunicorn_port, request_, tls=False), status)


def test_a_request_line_gunicorn_refuses_is_json_without_the_proxy(stack):
    gunicorn_port = int(stack.gunicorn_url.rsplit(":", 1)[1])
    answer = raw(gunicorn_port, request_bytes("/dashboard/" + "a" * 9000), tls=False)
    assert_json_envelope(*answer, 414)


def test_the_app_sees_the_clients_address_and_never_a_claimed_one(stack):
    spoofed = {"X-Forwarded-For": "203.0.113.9", "Authorization": f"Bearer {ADMIN}"}
    assert https(stack, "POST", "/api/analytics/ingest", json=[make_event()], headers=spoofed).ok
    audit = https(
        stack, "GET", "/api/analytics/audit", headers={"Authorization": f"Bearer {ADMIN}"}
    )
    assert audit.json()[0]["remote_addr"] == "127.0.0.1"


def test_answers_through_the_proxy_carry_the_apps_headers(stack):
    response = https(stack, "GET", "/api/analytics/healthz")
    assert response.json()["status"] == "ok"
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "nginx/" not in response.headers.get("Server", "")


def test_static_files_are_compressed_and_api_answers_are_not(stack):
    gzip = {"Accept-Encoding": "gzip"}
    asset = https(stack, "GET", "/static/vendor/plotly/plotly-analytics.min.js", headers=gzip)
    assert asset.headers["Content-Encoding"] == "gzip"
    answer = https(stack, "GET", "/api/analytics/openapi.json", headers=gzip)
    assert "Content-Encoding" not in answer.headers


def test_plain_http_is_sent_to_https_on_the_configured_name(stack):
    port = int(stack.proxy.http_url.rsplit(":", 1)[1])
    status, headers, _ = raw(port, request_bytes("/dashboard?days=7", host="evil.example"), False)
    assert status == 301
    assert headers["location"] == f"https://{HOST}/dashboard?days=7"


def test_a_browser_signs_in_over_https_through_the_proxy(stack):
    """The session cookie is Secure in production: over TLS the sign-in holds."""
    with chromium() as browser:
        context = browser.new_context(ignore_https_errors=True)
        page = context.new_page()
        page.goto(stack.proxy.https_url + "/dashboard/sign-in")
        page.fill("input[name=email]", "tls@example.com")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/dashboard**")
        assert "sign-in" not in page.url
        cookie = next(c for c in context.cookies() if c["name"] == "analytics_session")
        assert cookie["secure"] and cookie["httpOnly"]
        context.close()


def test_nginx_answers_for_a_gunicorn_that_is_down(tmp_path):
    """502 in the envelope with Retry-After for the API, a page for people."""
    closed = free_port()
    with nginx(tmp_path / "nginx", f"127.0.0.1:{closed}", free_port(), free_port()) as proxy:
        port = int(proxy.https_url.rsplit(":", 1)[1])
        status, headers, body = raw(port, request_bytes("/api/analytics/healthz"))
        assert_json_envelope(status, headers, body, 502)
        assert headers["retry-after"] == "5"
        status, headers, body = raw(port, request_bytes("/dashboard/"))
        assert (status, headers["content-type"]) == (502, "text/html; charset=utf-8")


def test_the_readme_runs_what_the_tests_run():
    readme = (ROOT / "README.md").read_text()
    assert "gunicorn -c python:analytics_app.gunicorn_conf wsgi:app" in readme
    (names,) = re.findall(r"envsubst \\\n\s*'((?:\$\{[A-Z_]+\} ?)+)'", readme)
    template_names = re.findall(r"\$\{([A-Z_]+)\}", TEMPLATE.read_text())
    assert re.findall(r"[A-Z_]+", names) == list(VARIABLES)
    assert set(template_names) == set(VARIABLES)

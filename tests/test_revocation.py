"""Revoked tokens: refused (401) by every worker within seconds, without a database query per
request, on both backends; audited; mended from the database when Redis loses its copy or is
down."""

import subprocess
import sys
import time
from contextlib import ExitStack

import pytest
import redis
import sqlalchemy as sa
from prometheus_client import REGISTRY

from analytics_app import ROOT
from analytics_app.accounts import revocations, tokens
from analytics_app.extensions import db

from conftest import REDIS_URL
from helpers import Client, make_event, query
from processes import gunicorn, process_env


def mint(app, sub="billing", scopes=("analytics:read",)):
    """Mint a token as the CLI does; return (token, jti)."""
    with app.app_context():
        token, record = tokens.mint(sub, list(scopes), "1d", created_by="test")
        jti = record.jti
        db.session.remove()
    return token, jti


def revoke(app, jti, by="test"):
    with app.app_context():
        tokens.revoke(jti, revoked_by=by)
        db.session.remove()


def test_the_revoking_process_refuses_the_token_at_once(app, serve):
    token, jti = mint(app)
    client = Client(serve(app).url, token)
    assert client.ingest([make_event()]).status_code == 200  # verified and remembered
    assert client.get("/api/analytics/reports/dau").status_code == 200
    revoke(app, jti)
    refused = client.ingest([make_event()])
    assert refused.status_code == 401
    assert refused.json()["message"] == "token has been revoked"
    assert client.get("/api/analytics/reports/dau").status_code == 401
    other, _ = mint(app)
    assert Client(client.url, other).ingest([make_event()]).status_code == 200


def test_a_revocation_is_audited(app, caplog):
    _, jti = mint(app)
    with caplog.at_level("INFO", logger="analytics_app.accounts.tokens"):
        revoke(app, jti, by="ops@example.com")
    [(revoked_by, revoked_at)] = query(app, "SELECT revoked_by, revoked_at FROM api_tokens")
    assert revoked_by == "ops@example.com"
    assert revoked_at is not None
    [record] = [r for r in caplog.records if r.getMessage() == "token revoked"]
    assert (record.jti, record.token_sub, record.revoked_by) == (jti, "billing", "ops@example.com")


def test_every_worker_refuses_a_revoked_token_within_5_seconds(app, backend, tmp_path):
    """Two gunicorn servers; the token is revoked by the CLI, a third process."""
    token, jti = mint(app)
    with ExitStack() as stack:
        urls = [
            stack.enter_context(gunicorn(backend, tmp_path / f"gunicorn-{n}.log", workers=1))[0]
            for n in range(2)
        ]
        clients = [Client(url, token) for url in urls]
        for client in clients:
            assert client.ingest([make_event()]).status_code == 200
        revoked = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", "analytics", "token", "revoke", jti],
            cwd=ROOT,
            env=process_env(backend),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert revoked.returncode == 0, revoked.stderr
        started = time.monotonic()
        refused_after = {}
        while len(refused_after) < 2 and time.monotonic() - started < 10:
            for n, client in enumerate(clients):
                if n not in refused_after and client.ingest([make_event()]).status_code == 401:
                    refused_after[n] = time.monotonic() - started
            time.sleep(0.05)
    assert sorted(refused_after) == [0, 1]
    assert max(refused_after.values()) < 5, refused_after


def test_authenticated_requests_read_no_revocation_from_the_database(app, serve, backend):
    token, _ = mint(app)
    client = Client(serve(app).url, token)
    statements = []
    with app.app_context():
        engine = db.engine

    def record(conn, cursor, statement, parameters, context, executemany):
        if "api_tokens" in statement:
            statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        assert client.ingest([make_event()]).status_code == 200  # the first view is read
        statements.clear()
        started = time.monotonic()
        for _ in range(60):
            assert client.ingest([make_event()]).status_code == 200
        elapsed = time.monotonic() - started
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    if backend["name"] == "postgresql":
        assert statements == []  # Redis holds the copy every process reads
    else:
        # Without Redis, each process reads the database at most every REFRESH_SECONDS.
        assert len(statements) <= elapsed / revocations.REFRESH_SECONDS + 1


def _redis_or_skip(backend):
    if backend["name"] != "postgresql":
        pytest.skip("the embedded setup has no Redis")
    return redis.Redis.from_url(REDIS_URL)


def test_revocations_survive_redis_losing_its_copy(app, serve, backend):
    copy = _redis_or_skip(backend)
    token, jti = mint(app)
    revoke(app, jti)
    copy.delete(revocations.KEY, revocations.SYNCED_KEY)  # a restart without persistence
    fresh = revocations.RevokedTokens(copy)  # a process that starts now
    with app.app_context():
        assert jti in fresh
    assert copy.zscore(revocations.KEY, jti) is not None  # Redis has its copy back
    assert Client(serve(app).url, token).ingest([make_event()]).status_code == 401


def test_with_redis_down_revocations_are_read_from_the_database(make_app, serve, backend):
    _redis_or_skip(backend)
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0")
    token, jti = mint(app)
    client = Client(serve(app).url, token)
    labels = {"component": "token_revocations"}
    before = REGISTRY.get_sample_value("analytics_redis_fallback_total", labels)
    assert client.ingest([make_event()]).status_code == 200
    revoke(app, jti)
    assert client.ingest([make_event()]).status_code == 401
    assert REGISTRY.get_sample_value("analytics_redis_fallback_total", labels) > before

"""Faults over real processes: PostgreSQL restarted under load, Redis lost and back, a worker
killed mid-rollup. Each uses servers of its own (see faults.py)."""

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time as clock
from datetime import UTC, date, datetime, time, timedelta

import pytest
import requests
from flask_migrate import upgrade

from analytics_app import ROOT, create_app
from analytics_app.extensions import db

from conftest import base_env
from dataset import Expected, Row, store
from faults import ThrowawayPostgres, ThrowawayRedis
from helpers import Client, LiveServer, make_event, make_token, query

needs_servers = pytest.mark.skipif(
    shutil.which("redis-server") is None, reason="redis-server is not installed"
)


@pytest.fixture
def postgres():
    try:
        server = ThrowawayPostgres()
    except (FileNotFoundError, subprocess.CalledProcessError) as error:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"cannot make a PostgreSQL cluster here: {error}")
    server.start()
    yield server
    with contextlib.suppress(subprocess.CalledProcessError):  # the test may have stopped it
        server.stop()
    server.remove()


@pytest.fixture
def redis_server():
    server = ThrowawayRedis()
    server.start()
    yield server
    server.stop()


def migrated_app(**env):
    app = create_app(base_env(env))
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        db.engine.dispose()
    return app


def send_with_retries(client, events, seen, deadline):
    """Post one batch until it is acknowledged, as the SDK would (backoff on 5xx/errors)."""
    while clock.monotonic() < deadline:
        try:
            response = client.ingest(events)
        except requests.ConnectionError:
            seen.add("connection error")
        else:
            seen.add(response.status_code)
            if response.status_code == 200:
                return
            assert response.status_code == 503, response.text
            assert response.headers["Retry-After"]
        clock.sleep(0.1)
    raise AssertionError("the batch was never acknowledged")


@needs_servers
def test_postgres_restart_under_load_gives_503s_then_stores_every_event_once(
    postgres, redis_server
):
    app = migrated_app(DATABASE_URL=postgres.url, REDIS_URL=redis_server.url)
    server = LiveServer(app)
    client = Client(server.url, make_token())
    batches = [[make_event() for _ in range(20)] for _ in range(60)]
    seen = set()
    deadline = clock.monotonic() + 60

    def sender():
        for batch in batches:
            send_with_retries(client, batch, seen, deadline)

    thread = threading.Thread(target=sender)
    try:
        thread.start()
        while query(app, "SELECT count(*) FROM events")[0][0] < 200:
            clock.sleep(0.02)
        postgres.stop()
        clock.sleep(1.5)
        postgres.start()
        thread.join(timeout=60)
        assert not thread.is_alive()
    finally:
        server.stop()
    assert 503 in seen, "the client never saw the database down"
    total, distinct = query(app, "SELECT count(*), count(DISTINCT client_id) FROM events")[0]
    assert total == distinct == 60 * 20
    with app.app_context():  # close the pool's connections rather than leave them to the GC
        db.engine.dispose()


@needs_servers
def test_ingest_keeps_working_without_redis_and_tasks_resume_when_it_returns(
    backend, make_app, serve, redis_server
):
    if backend["name"] != "postgresql":
        pytest.skip("the production setup (PostgreSQL + Redis) is what loses Redis")
    app = make_app(REDIS_URL=redis_server.url, HUEY_IMMEDIATE="false", RATE_LIMIT_PER_MINUTE="1000")
    client = Client(serve(app).url, make_token(scope="analytics:admin"))
    assert client.ingest([make_event()]).status_code == 200
    redis_server.stop()
    assert client.ingest([make_event()]).status_code == 200  # rate limit degrades to local
    health = client.get("/api/analytics/healthz").json()
    assert (health["status"], health["redis"]) == ("ok", "unavailable")
    today = {"date": datetime.now(UTC).date().isoformat()}
    dau = client.get("/api/analytics/reports/dau", params=today).json()["dau"]
    assert dau == 1  # the cache is bypassed
    refused = client.post("/api/analytics/exports", json={"format": "csv"})
    assert refused.status_code == 503 and refused.headers["Retry-After"]
    assert query(app, "SELECT status FROM export_jobs") == [("failed",)]

    redis_server.start()  # same port: the app's clients reconnect
    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "analytics", "worker", "--workers", "1"],
        cwd=ROOT,
        env={
            **os.environ,
            **base_env(backend),
            "REDIS_URL": redis_server.url,
            "HUEY_IMMEDIATE": "false",
            "EXPORT_DIR": app.config["EXPORT_DIR"],
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        created = client.post("/api/analytics/exports", json={"format": "csv"})
        assert created.status_code == 202
        deadline = clock.monotonic() + 30
        while client.get(created.json()["status_url"]).json()["status"] != "done":
            assert clock.monotonic() < deadline, "the worker did not run the queued export"
            clock.sleep(0.2)
    finally:
        worker.terminate()
        worker.wait(timeout=10)


def test_a_worker_killed_mid_rollup_leaves_the_next_run_correct(backend, make_app):
    app = make_app()
    start = date.today() - timedelta(days=80)
    rows = [
        Row(
            ts=datetime.combine(start + timedelta(days=n // 40), time(12), tzinfo=UTC),
            user_id=f"u{n % 97}",
            type="page_view",
            src="web_app",
            payload={"page": "/"},
        )
        for n in range(80 * 40)
    ]
    with app.app_context():
        store(rows)
    env = {**os.environ, **base_env(backend)}
    command = [
        sys.executable,
        "-m",
        "flask",
        "--app",
        "wsgi",
        "analytics",
        "rollup",
        "--from",
        start.isoformat(),
    ]
    worker = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = clock.monotonic() + 60
    while not query(app, "SELECT count(*) FROM metrics")[0][0]:
        assert worker.poll() is None, "the rollup finished before it could be killed"
        assert clock.monotonic() < deadline
        clock.sleep(0.01)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True, timeout=120)
    expected = Expected(rows, "UTC")
    stored = query(app, "SELECT date, value FROM metrics WHERE name = 'dau' ORDER BY date")
    assert len(stored) == 80
    for day, value in stored:
        day = day if isinstance(day, date) else date.fromisoformat(day)
        assert value == expected.dau(day)

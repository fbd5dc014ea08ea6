"""Reports, exports and the dashboard read a real streaming replica (``REPORT_DATABASE_URL``)
once it has replayed what the primary had committed; writes and jobs stay on the primary; a
replica that lags or is down is passed over, never a wrong answer or an error."""

import os
from datetime import UTC, datetime, timedelta

import pytest
from flask_migrate import upgrade
from prometheus_client import REGISTRY

from analytics_app import ROOT, create_app
from analytics_app.extensions import db

from conftest import REDIS_URL, base_env
from helpers import Client, make_event, make_token
from replica import StreamingPair

READER = make_token(sub="replica-reader", scope="analytics:admin")
DATABASE = "analytics"


@pytest.fixture(scope="module")
def pair():
    """A primary and its replica, the app's schema migrated on the primary (and so on both)."""
    servers = StreamingPair()
    if not servers.available:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL's server binaries are needed for the replica tests")
        pytest.skip("PostgreSQL's server binaries (pg_basebackup) are not installed")
    servers.start()
    try:
        servers.execute("primary", f"CREATE DATABASE {DATABASE}")
        app = create_app(base_env({"DATABASE_URL": servers.url("primary", DATABASE)}))
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"))
            db.engine.dispose()
        yield servers
    finally:
        servers.stop()


@pytest.fixture
def make_app(pair):
    """Apps on the pair: the primary for everything, the replica for reads unless told."""
    apps = []

    def factory(**overrides):
        env = {
            "DATABASE_URL": pair.url("primary", DATABASE),
            "REPORT_DATABASE_URL": pair.url("replica", DATABASE),
            "REDIS_URL": REDIS_URL,
            **overrides,
        }
        app = create_app(base_env(env))
        apps.append(app)
        return app

    pair.execute("primary", "TRUNCATE events, event_ids, erased_users, erasure_jobs", DATABASE)
    yield factory
    for app in apps:
        with app.app_context():
            for engine in db.engines.values():
                engine.dispose()


def reads(database):
    return REGISTRY.get_sample_value("analytics_report_reads_total", {"database": database})


def dau_series(client):
    today = datetime.now(UTC).date()
    params = {"start": (today - timedelta(days=2)).isoformat(), "end": today.isoformat()}
    response = client.get("/api/analytics/reports/dau", params=params)
    assert response.status_code == 200, response.text
    return response.json()["series"]


def fresh(days_ago, user_id):
    moment = datetime.now(UTC) - timedelta(days=days_ago, minutes=5)
    return make_event(user_id=user_id, ts=moment.isoformat())


def test_reports_exports_and_the_dashboard_read_the_replica_with_the_primarys_answers(
    make_app, serve
):
    replicated, plain = make_app(), make_app(REPORT_DATABASE_URL="")
    client = Client(serve(replicated).url, READER)
    events = [fresh(n % 3, f"user-{n % 5}") for n in range(30)]
    assert client.ingest(events).json()["ingested"] == 30
    before = reads("replica")
    series = dau_series(client)
    engagement = client.get("/api/analytics/reports/engagement").json()
    breakdown = client.get("/api/analytics/reports/breakdown", params={"by": "src"}).json()
    export = client.get("/api/analytics/reports/events", params={"format": "csv"})
    assert reads("replica") == before + 4
    assert [point["dau"] for point in series] == [5, 5, 5]
    assert export.text.count("\r\n") == 31  # the header and every event

    primary = Client(serve(plain).url, READER)
    assert dau_series(primary) == series
    assert primary.get("/api/analytics/reports/engagement").json() == engagement
    assert primary.get("/api/analytics/reports/breakdown", params={"by": "src"}).json() == (
        breakdown
    )
    assert (
        primary.get("/api/analytics/reports/events", params={"format": "csv"}).text == export.text
    )


def test_an_answer_read_from_the_replica_holds_every_event_answered_before_it(make_app, serve):
    client = Client(serve(make_app()).url, READER)
    before = reads("primary")
    for n in range(1, 16):
        assert client.ingest([fresh(0, f"newcomer-{n}")]).status_code == 200
        assert dau_series(client)[-1]["dau"] == n
    assert reads("primary") == before  # none had to fall back


def test_a_replica_lagging_past_the_wait_is_passed_over_for_the_primary(make_app, serve, pair):
    client = Client(serve(make_app(REPORT_REPLICA_MAX_WAIT_MS="100")).url, READER)
    pair.execute("replica", "SELECT pg_wal_replay_pause()")
    try:
        assert client.ingest([fresh(0, "while-paused")]).status_code == 200
        fallbacks = reads("primary")
        assert dau_series(client)[-1]["dau"] == 1
        assert reads("primary") == fallbacks + 1
    finally:
        pair.execute("replica", "SELECT pg_wal_replay_resume()")
    served = reads("replica")
    assert dau_series(client)[-1]["dau"] == 1
    assert reads("replica") == served + 1


def test_an_unreachable_replica_is_passed_over_for_the_primary(make_app, serve):
    app = make_app(REPORT_DATABASE_URL="postgresql://postgres@127.0.0.1:9/analytics")
    client = Client(serve(app).url, READER)
    assert client.ingest([fresh(1, "someone")]).status_code == 200
    assert dau_series(client)[1]["dau"] == 1


def test_ingest_erasure_rollups_and_jobs_write_the_primary_and_read_their_status_there(
    make_app, serve
):
    app = make_app()
    client = Client(serve(app).url, READER)
    events = [fresh(1, "alice"), fresh(1, "bob"), fresh(0, "alice")]
    assert client.ingest(events).json()["ingested"] == 3
    erasure = client.request("DELETE", "/api/analytics/users/alice").json()
    status = client.get(erasure["status_url"]).json()
    assert (status["status"], status["events_deleted"]) == ("done", 2)
    assert dau_series(client)[1]["dau"] == 1  # the erasure and its rollup, at once
    today = datetime.now(UTC).date()
    days = {"start": (today - timedelta(days=2)).isoformat(), "end": today.isoformat()}
    job = client.post("/api/analytics/exports", json={"format": "csv", **days}).json()
    finished = client.get(job["status_url"]).json()
    assert finished["status"] == "done"
    assert client.get(finished["download_url"]).text.count("\r\n") == 2

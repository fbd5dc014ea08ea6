"""Background work: tasks through real Huey instances, crash-safe rollups, exact retention,
and audited user erasure."""

import os
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta

import pytest

from analytics_app import ROOT
from analytics_app.extensions import db
from analytics_app.reports.stored import last_rolled_date, read_marks
from analytics_app.rollup.run import roll_up

from conftest import base_env
from dataset import FIRST_DAY, LAST_DAY, Expected, Row, generate, store
from helpers import Client, count_events, make_event, make_token, query

ADMIN = make_token(sub="erasure-admin", scope="analytics:admin")


def metric_rows(app):
    rows = query(app, "SELECT date, name, dimensions, value FROM metrics ORDER BY 1, 2, 3")
    return [(str(d), name, str(dims), value) for d, name, dims, value in rows]


def test_the_rollup_task_runs_through_huey(app):
    with app.app_context():
        store(generate(users=30))
        app.extensions["tasks"].rollup()
        assert last_rolled_date("UTC") == date.today() - timedelta(days=1)
        assert not read_marks()


def test_a_rollup_retried_after_a_crash_leaves_the_same_numbers(make_app):
    app = make_app()
    rows = generate(users=40)
    earlier, late = rows[: len(rows) // 2], rows[len(rows) // 2 :]
    with app.app_context():
        store(earlier)
        roll_up(["UTC"], FIRST_DAY, LAST_DAY)
        store(late)  # reaches back into rolled-up days: marked

        def crash(done, total):
            raise RuntimeError("worker killed")

        with pytest.raises(RuntimeError):
            roll_up(["UTC"], FIRST_DAY, LAST_DAY, progress=crash)
        db.session.rollback()
        assert read_marks(), "marks survive the crash"
        roll_up(["UTC"], FIRST_DAY, LAST_DAY)
        first = metric_rows(app)
        roll_up(["UTC"], FIRST_DAY, LAST_DAY)
        assert metric_rows(app) == first
        expected = Expected(rows, "UTC")
        stored = dict(
            query(app, "SELECT date, value FROM metrics WHERE name = 'dau' ORDER BY date")
        )
        for day, value in stored.items():
            day = day if isinstance(day, date) else date.fromisoformat(day)
            assert value == expected.dau(day)


def test_retention_removes_exactly_what_is_old(make_app):
    app = make_app(EVENT_RETENTION_DAYS="30", METRICS_RETENTION_DAYS="60")
    now = datetime.now(UTC)
    old = [now - timedelta(days=31), now - timedelta(days=45)]
    young = [now - timedelta(days=29), now - timedelta(hours=1)]
    with app.app_context():
        store([Row(ts, f"u{n}", "page_view", None, {}) for n, ts in enumerate(old + young)])
        for days_ago, name in [(61, "old"), (59, "young")]:
            db.session.execute(
                db.text(
                    "INSERT INTO metrics (date, name, value, dimensions) VALUES (:d, :n, 1, :j)"
                ),
                {"d": (now - timedelta(days=days_ago)).date(), "n": name, "j": '{"tz":"UTC"}'},
            )
        db.session.commit()
        result = app.extensions["tasks"].cleanup().get()
    assert result == {"events": 2, "metrics": 1, "activity_days": 0, "exports": 0}
    remaining = sorted(r[0] for r in query(app, "SELECT user_id FROM events"))
    assert remaining == ["u2", "u3"]
    assert [r[0] for r in query(app, "SELECT name FROM metrics")] == ["young"]


def test_cleanup_deletes_in_bounded_batches(make_app, monkeypatch):
    from analytics_app import retention

    monkeypatch.setattr(retention, "BATCH_SIZE", 7)
    app = make_app(EVENT_RETENTION_DAYS="10")
    old = datetime.now(UTC) - timedelta(days=20)
    batches = []
    with app.app_context():
        store([Row(old + timedelta(seconds=n), f"u{n}", "page_view", None, {}) for n in range(30)])
        retention.clean_up(progress=batches.append)
    assert batches[:5] == [7, 7, 7, 7, 2]
    assert count_events(app) == 0


def test_erasure_removes_a_user_everywhere_and_keeps_them_out(app, serve):
    client = Client(serve(app).url, ADMIN)
    yesterday = datetime.now(UTC) - timedelta(days=1)
    events = [make_event(user_id="alice", ts=yesterday.isoformat()) for _ in range(3)]
    events += [make_event(user_id="bob", ts=yesterday.isoformat())]
    assert client.ingest(events).status_code == 200
    with app.app_context():
        roll_up(["UTC"])
    day = yesterday.date().isoformat()
    reports = Client(client.url, ADMIN)
    assert reports.get("/api/analytics/reports/dau", params={"date": day}).json()["dau"] == 2

    response = client.request("DELETE", "/api/analytics/users/alice")
    assert response.status_code == 202
    job = response.json()
    status = client.get(job["status_url"]).json()
    assert (status["status"], status["events_deleted"]) == ("done", 3)
    assert status["requested_by"] == "erasure-admin"
    assert query(app, "SELECT user_id FROM events") == [("bob",)]
    assert reports.get("/api/analytics/reports/dau", params={"date": day}).json()["dau"] == 1
    later = client.ingest([make_event(user_id="alice"), make_event(user_id="carol")])
    assert later.json() == {"ingested": 1, "duplicates": 0, "dropped": 1}
    assert sorted(r[0] for r in query(app, "SELECT user_id FROM events")) == ["bob", "carol"]


def test_erasure_needs_the_admin_scope_and_unknown_jobs_are_404(client):
    assert client.request("DELETE", "/api/analytics/users/alice").status_code == 403
    read = make_token(scope="analytics:read")
    assert client.request("DELETE", "/api/analytics/users/alice", token=read).status_code == 403
    assert client.get("/api/analytics/erasures/999", token=ADMIN).status_code == 404


@pytest.mark.parametrize("user_id", ["%00", "a%00b", "x" * 256])
def test_erasing_a_user_id_that_cannot_be_stored_is_422(client, user_id):
    response = client.request("DELETE", f"/api/analytics/users/{user_id}", token=ADMIN)
    assert response.status_code == 422
    assert response.json()["code"] == 422


def test_a_real_consumer_on_redis_runs_queued_rollups(make_app, backend):
    if backend["name"] != "postgresql":
        pytest.skip("the Redis consumer runs with the PostgreSQL backend")
    env = {**base_env(backend), "HUEY_IMMEDIATE": "false"}
    app = make_app(HUEY_IMMEDIATE="false")
    huey = app.extensions["huey"]
    huey.flush()
    with app.app_context():
        store(generate(users=20))
    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "analytics", "worker", "--workers", "1"],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with app.app_context():
            app.extensions["tasks"].rollup()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with app.app_context():  # every chunk of days stored, not only the first
                if last_rolled_date("UTC") == date.today() - timedelta(days=1):
                    break
            time.sleep(0.2)
        else:
            pytest.fail("the consumer did not run the rollup")
    finally:
        worker.terminate()
        worker.wait(timeout=10)
        huey.flush()

"""A report that outlives REPORT_STATEMENT_TIMEOUT_SECONDS answers 503 with Retry-After in the
API's envelope, on both databases, and the process serves the next report as usual."""

import time
from datetime import UTC, datetime

import pytest
from slow_queries import slow_top_pages
from sqlalchemy import text

from analytics_app.extensions import db
from analytics_app.reports import breakdowns, raw
from analytics_app.reports.timeout import ReportTimeoutError, statement_timeout

from helpers import Client, make_event, make_token

READ = make_token(scope="analytics:read")


@pytest.fixture
def app(make_app):
    return make_app(REPORT_STATEMENT_TIMEOUT_SECONDS="0.3")


@pytest.fixture
def client(app, serve):
    return Client(serve(app).url, READ)


def test_a_report_past_its_time_limit_answers_503_with_retry_after(client, monkeypatch):
    assert client.ingest([make_event()], token=make_token()).status_code == 200
    monkeypatch.setattr(raw, "top_pages", slow_top_pages)
    started = time.monotonic()
    response = client.get("/api/analytics/reports/engagement")
    assert time.monotonic() - started < 10  # cancelled, not run to its end
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    body = response.json()
    assert body["code"] == 503
    assert body["status"] == "Service Unavailable"
    assert body["message"] == ("the report took longer than 0.3 s; retry later or narrow the range")

    # The same process answers the next reports, with the usual figures.
    monkeypatch.undo()
    engagement = client.get("/api/analytics/reports/engagement")
    assert engagement.status_code == 200
    assert engagement.json()["events"] == 1
    today = datetime.now(UTC).date().isoformat()
    assert client.get("/api/analytics/reports/dau", params={"date": today}).json()["dau"] == 1


def test_breakdowns_and_funnels_run_under_the_limit_too(client, monkeypatch):
    monkeypatch.setattr(breakdowns, "_rows", slow_top_pages)
    response = client.get("/api/analytics/reports/breakdown", params={"by": "type"})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.json()["message"].startswith("the report took longer than 0.3 s")


def test_a_fast_report_runs_under_the_limit_and_the_transaction_gets_its_setting_back(app):
    with app.test_request_context():
        dialect = db.engine.dialect.name
        if dialect == "postgresql":
            before = db.session.execute(text("SHOW statement_timeout")).scalar()
        with statement_timeout(5):
            assert db.session.execute(text("SELECT 1")).scalar() == 1
            if dialect == "postgresql":
                assert db.session.execute(text("SHOW statement_timeout")).scalar() == "5s"
        if dialect == "postgresql":
            assert db.session.execute(text("SHOW statement_timeout")).scalar() == before
        with pytest.raises(ReportTimeoutError), statement_timeout(0.2):
            slow_top_pages()
        assert db.session.execute(text("SELECT 2")).scalar() == 2  # the session goes on
        db.session.remove()


def test_the_openapi_document_names_the_503_of_every_report(client):
    paths = client.get("/api/analytics/openapi.json").json()["paths"]
    for name in ("dau", "active-users", "engagement", "retention", "funnel", "breakdown"):
        responses = paths[f"/api/analytics/reports/{name}"]["get"]["responses"]
        assert "503" in responses, name

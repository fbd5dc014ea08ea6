"""Export buttons: the dashboard's files are the API's files for the same filters; large
exports run as jobs whose progress the page polls, each visible to its requester alone."""

import csv
import io
import re
from collections import Counter
from datetime import date

import openpyxl
import pytest
from fixtures import (  # noqa: F401 - fixtures, requested by name
    admin_fixture,
    dashboard_app_fixture,
    server_fixture,
)

from analytics_app.exports import jobs
from analytics_app.exports.request import ExportRequest
from analytics_app.reports.periods import zone
from analytics_app.reports.range import ReportRange

from dataset import generate, store
from helpers import Client, make_token, query
from webclient import FAST_HASH, add_user, signed_in

RANGE = {"start": "2026-10-25", "end": "2026-11-02", "tz": "Europe/Berlin"}


@pytest.fixture(scope="module")
def rows():
    return generate(users=30)


@pytest.fixture(autouse=True)
def _seeded(dashboard_app, rows):
    with dashboard_app.app_context():
        store(rows)


@pytest.fixture
def api(server):
    return Client(server.url, make_token(scope="analytics:read"))


def _sheet_rows(content):
    workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    return [list(row) for sheet in workbook.worksheets for row in sheet.iter_rows(values_only=True)]


def test_csv_downloads_are_the_api_export_of_the_same_filters(admin, api, rows):
    busiest = Counter(row.user_id for row in rows).most_common(1)[0][0]
    for filters in [{}, {"type": "video_play", "src": "ios_app"}, {"user_id": busiest}]:
        args = {**RANGE, **filters, "format": "csv"}
        response = admin.get("/dashboard/exports/download", params=args)
        assert response.status_code == 200, filters
        assert response.headers["Content-Disposition"] == (
            'attachment; filename="events_2026-10-25_2026-11-02.csv"'
        )
        expected = api.get("/api/analytics/reports/events", params=args)
        assert response.content == expected.content, filters
        table = list(csv.DictReader(io.StringIO(response.text)))
        assert table, filters
        assert all(row[k] == v for row in table for k, v in filters.items()), filters


def test_excel_downloads_hold_the_api_export_rows(admin, api):
    args = {**RANGE, "type": "page_view", "format": "xlsx"}
    response = admin.get("/dashboard/exports/download", params=args)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    expected = api.get("/api/analytics/reports/events", params=args)
    sheet = _sheet_rows(response.content)
    assert sheet == _sheet_rows(expected.content)
    assert {row[3] for row in sheet[1:]} == {"page_view"}


def test_large_exports_become_jobs_with_a_download_link(admin, api, dashboard_app):
    dashboard_app.config["DASHBOARD_DIRECT_EXPORT_ROWS"] = {"csv": 10, "xlsx": 10}
    overview = admin.get("/dashboard", params=RANGE).text
    assert 'href="/dashboard/exports/download' not in overview
    assert 'action="/dashboard/exports"' in overview

    offer = admin.get("/dashboard/exports/download", params={**RANGE, "format": "csv"})
    assert offer.status_code == 200
    assert "prepared in the background" in offer.text

    created = admin.post(
        "/dashboard/exports", {**RANGE, "format": "csv"}, headers={"HX-Request": "true"}
    )
    assert created.status_code == 200
    assert 'data-status="done"' in created.text  # HUEY_IMMEDIATE: the job ran inline
    link = re.search(r'href="(/dashboard/exports/\d+/file)"', created.text).group(1)
    download = admin.get(link)
    assert download.status_code == 200
    expected = api.get("/api/analytics/reports/events", params={**RANGE, "format": "csv"})
    assert download.content == expected.content


def _pending_job(app, requested_by):
    days = ReportRange(zone("UTC"), date(2026, 10, 25), date(2026, 10, 26))
    request = ExportRequest("csv", days)
    with app.app_context():
        return jobs.create(request, requested_by).id


def test_a_job_page_polls_until_the_file_is_ready(admin, dashboard_app):
    job_id = _pending_job(dashboard_app, "dashboard:admin@example.com")
    polling = admin.get(f"/dashboard/exports/{job_id}", headers={"HX-Request": "true"})
    assert polling.status_code == 200
    assert 'hx-trigger="every 1s"' in polling.text
    assert "<progress" in polling.text
    assert "/file" not in polling.text
    assert admin.get(f"/dashboard/exports/{job_id}/file").status_code == 404  # not ready

    with dashboard_app.app_context():
        jobs.run(job_id)
    done = admin.get(f"/dashboard/exports/{job_id}", headers={"HX-Request": "true"})
    assert "hx-trigger" not in done.text
    assert f'href="/dashboard/exports/{job_id}/file"' in done.text
    assert admin.get(f"/dashboard/exports/{job_id}/file").status_code == 200
    assert "<html" in admin.get(f"/dashboard/exports/{job_id}").text  # the page, not a fragment


def test_a_job_is_visible_to_its_requester_and_admins_only(admin, dashboard_app, server):
    owner = signed_in(server.url, add_user(dashboard_app, "owner@example.com"))
    other = signed_in(server.url, add_user(dashboard_app, "other@example.com"))
    job_id = _pending_job(dashboard_app, "dashboard:owner@example.com")
    assert owner.get(f"/dashboard/exports/{job_id}").status_code == 200
    assert other.get(f"/dashboard/exports/{job_id}").status_code == 404
    assert other.get(f"/dashboard/exports/{job_id}/file").status_code == 404
    assert admin.get(f"/dashboard/exports/{job_id}").status_code == 200


def test_an_export_of_unusable_filters_is_refused(admin):
    for args in [{"format": "pdf"}, {"format": "csv", "tz": "Nowhere/Special"}]:
        assert admin.get("/dashboard/exports/download", params=args).status_code == 422, args
        assert admin.post("/dashboard/exports", args).status_code == 422, args


def test_with_the_queue_down_a_job_fails_at_once_and_the_page_says_why(make_app, serve):
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0", HUEY_IMMEDIATE="false")
    app.config.update(SESSION_COOKIE_SECURE=False, DASHBOARD_PASSWORD_HASH=FAST_HASH)
    web = signed_in(serve(app).url, add_user(app, "queue@example.com"))
    form = {**RANGE, "format": "csv"}

    page = web.post("/dashboard/exports", form)
    assert page.status_code == 503
    assert "The task queue is unavailable, retry later." in page.text
    fragment = web.post("/dashboard/exports", form, headers={"HX-Request": "true"})
    assert fragment.status_code == 200  # htmx swaps it in where the job's progress would go
    assert 'data-status="failed"' in fragment.text
    assert "hx-trigger" not in fragment.text  # nothing to poll
    assert "The task queue is unavailable, retry later." in fragment.text
    failed = [("failed", "the task queue was unavailable")] * 2
    assert query(app, "SELECT status, error FROM export_jobs ORDER BY id") == failed

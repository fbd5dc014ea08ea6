"""Export buttons: the dashboard's files are the API's files for the same filters; large
exports run as jobs whose progress the page polls, each visible to its requester (by user id)
and the administrators alone, refused at once when expired, and bounded in number."""

import csv
import io
import re
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import openpyxl
import pytest
from fixtures import (  # noqa: F401 - fixtures, requested by name
    admin_fixture,
    dashboard_app_fixture,
    server_fixture,
)

from analytics_app.accounts import users
from analytics_app.exports import jobs
from analytics_app.exports.access import Requester
from analytics_app.exports.request import ExportRequest
from analytics_app.extensions import db
from analytics_app.models import DashboardUser, ExportJob
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


FIGURES = ["dau", "active-users", "engagement", "retention"]


@pytest.mark.parametrize("name", FIGURES)
def test_the_figures_of_each_report_are_the_api_export_of_the_same_view(admin, api, name):
    for extra in [{}, {"src": "ios_app"}, {"compare": "previous"}]:
        args = {**RANGE, **extra}
        response = admin.get(f"/dashboard/figures/{name}.csv", params=args)
        assert response.status_code == 200, (name, extra)
        expected = api.get(f"/api/analytics/reports/{name}", params={**args, "format": "csv"})
        assert expected.status_code == 200, (name, extra)
        assert response.content == expected.content, (name, extra)
        assert response.headers["Content-Disposition"] == expected.headers["Content-Disposition"]
        header = next(csv.reader(io.StringIO(response.text)))
        assert (header[0] == "range") == ("compare" in extra), (name, header)
    workbook = admin.get(f"/dashboard/figures/{name}.xlsx", params=RANGE)
    assert workbook.status_code == 200
    assert workbook.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    expected = api.get(f"/api/analytics/reports/{name}", params={**RANGE, "format": "xlsx"})
    assert _sheet_rows(workbook.content) == _sheet_rows(expected.content)


def test_the_export_panel_offers_each_report_s_figures_for_the_view(admin):
    args = {**RANGE, "compare": "previous"}
    html = admin.get("/dashboard/panels/exports", params=args).text
    for name in FIGURES:
        for export_format in ("csv", "xlsx"):
            link = re.search(rf'id="figures-{name}-{export_format}"[^>]*href="([^"]+)"', html)
            assert link, (name, export_format)
            url = link.group(1).replace("&amp;", "&")
            assert url.startswith(f"/dashboard/figures/{name}.{export_format}?"), url
            assert "compare=previous" in url and "tz=Europe/Berlin" in url, url


def test_figures_of_an_unknown_report_or_unusable_view_are_refused(admin):
    assert admin.get("/dashboard/figures/funnel.csv", params=RANGE).status_code == 404
    assert admin.get("/dashboard/figures/dau.pdf", params=RANGE).status_code == 404
    bad = {**RANGE, "tz": "Nowhere/Special"}
    assert admin.get("/dashboard/figures/dau.csv", params=bad).status_code == 422


JOB_LINK = re.compile(r'href="(/dashboard/exports/[A-Za-z0-9_-]{22}/file)"')


def test_large_exports_become_jobs_with_a_download_link(admin, api, dashboard_app):
    dashboard_app.config.update(DASHBOARD_DIRECT_CSV_ROWS=10, EXPORT_DIRECT_XLSX_ROWS=10)
    buttons = admin.get("/dashboard/panels/exports", params=RANGE).text
    assert 'href="/dashboard/exports/download' not in buttons
    assert 'action="/dashboard/exports"' in buttons

    offer = admin.get("/dashboard/exports/download", params={**RANGE, "format": "csv"})
    assert offer.status_code == 200
    assert "prepared in the background" in offer.text

    created = admin.post(
        "/dashboard/exports", {**RANGE, "format": "csv"}, headers={"HX-Request": "true"}
    )
    assert created.status_code == 200
    assert 'data-status="done"' in created.text  # HUEY_IMMEDIATE: the job ran inline
    link = JOB_LINK.search(created.text).group(1)
    download = admin.get(link)
    assert download.status_code == 200
    assert download.headers["Cache-Control"] == "no-store"
    expected = api.get("/api/analytics/reports/events", params={**RANGE, "format": "csv"})
    assert download.content == expected.content


def _user(app, email):
    with app.app_context():
        return db.session.scalar(db.select(DashboardUser).where(DashboardUser.email == email))


def _pending_job(app, email):
    """A job recorded as ``email``'s dashboard request makes it, not run yet; its public id."""
    days = ReportRange(zone("UTC"), date(2026, 10, 25), date(2026, 10, 26))
    request = ExportRequest("csv", days)
    with app.app_context():
        return jobs.create(request, Requester.dashboard_user(_user(app, email))).public_id


def _run(app, job_id):
    with app.app_context():
        jobs.run(db.session.scalar(db.select(ExportJob.id).filter_by(public_id=job_id)))


def test_a_job_page_polls_until_the_file_is_ready(admin, dashboard_app):
    job_id = _pending_job(dashboard_app, "admin@example.com")
    polling = admin.get(f"/dashboard/exports/{job_id}", headers={"HX-Request": "true"})
    assert polling.status_code == 200
    assert 'hx-trigger="every 1s"' in polling.text
    assert "<progress" in polling.text
    assert "/file" not in polling.text
    assert admin.get(f"/dashboard/exports/{job_id}/file").status_code == 404  # not ready

    _run(dashboard_app, job_id)
    done = admin.get(f"/dashboard/exports/{job_id}", headers={"HX-Request": "true"})
    assert "hx-trigger" not in done.text
    assert f'href="/dashboard/exports/{job_id}/file"' in done.text
    assert admin.get(f"/dashboard/exports/{job_id}/file").status_code == 200
    assert "<html" in admin.get(f"/dashboard/exports/{job_id}").text  # the page, not a fragment


def test_a_job_is_visible_to_its_requester_and_admins_only(admin, dashboard_app, server):
    owner = signed_in(server.url, add_user(dashboard_app, "owner@example.com"))
    other = signed_in(server.url, add_user(dashboard_app, "other@example.com"))
    job_id = _pending_job(dashboard_app, "owner@example.com")
    _run(dashboard_app, job_id)
    for who in (owner, admin):
        assert who.get(f"/dashboard/exports/{job_id}").status_code == 200
        assert who.get(f"/dashboard/exports/{job_id}/file").status_code == 200
    for path in (f"/dashboard/exports/{job_id}", f"/dashboard/exports/{job_id}/file"):
        response = other.get(path)
        assert response.status_code == 404, path
        assert "No such export job." in response.text, path
    # A token of the same name as a dashboard user is someone else, and so is a read token.
    api = Client(server.url, make_token(sub="owner@example.com", scope="analytics:read"))
    assert api.get(f"/api/analytics/exports/{job_id}").status_code == 404
    admin_api = Client(server.url, make_token(scope="analytics:admin"))
    assert admin_api.get(f"/api/analytics/exports/{job_id}").json()["requested_by"] == (
        "dashboard:owner@example.com"
    )


def test_an_account_recreated_with_the_same_email_sees_nothing_of_the_old_one(
    admin, dashboard_app, server
):
    add_user(dashboard_app, "leaver@example.com")
    old_id = _user(dashboard_app, "leaver@example.com").id
    job_id = _pending_job(dashboard_app, "leaver@example.com")
    _run(dashboard_app, job_id)
    with dashboard_app.app_context():
        users.delete(old_id, _user(dashboard_app, "admin@example.com"))
    again = signed_in(server.url, add_user(dashboard_app, "leaver@example.com"))
    assert _user(dashboard_app, "leaver@example.com").id != old_id  # ids are never reused
    assert again.get(f"/dashboard/exports/{job_id}").status_code == 404
    assert again.get(f"/dashboard/exports/{job_id}/file").status_code == 404
    assert admin.get(f"/dashboard/exports/{job_id}/file").status_code == 200


def test_an_expired_job_says_so_and_its_file_is_410_at_once(admin, dashboard_app):
    job_id = _pending_job(dashboard_app, "admin@example.com")
    _run(dashboard_app, job_id)
    assert admin.get(f"/dashboard/exports/{job_id}/file").status_code == 200
    with dashboard_app.app_context():
        job = db.session.scalar(db.select(ExportJob).filter_by(public_id=job_id))
        job.expires_at = datetime.now(UTC) - timedelta(seconds=1)
        db.session.commit()
    page = admin.get(f"/dashboard/exports/{job_id}")
    assert 'data-status="expired"' in page.text
    assert "/file" not in page.text
    gone = admin.get(f"/dashboard/exports/{job_id}/file")
    assert gone.status_code == 410
    assert "This export has expired; export again." in gone.text


def test_a_user_has_a_bounded_number_of_jobs_at_once(admin, dashboard_app):
    for _ in range(dashboard_app.config["EXPORT_CONCURRENT_JOBS"]):
        _pending_job(dashboard_app, "admin@example.com")
    form = {**RANGE, "format": "csv"}
    fragment = admin.post("/dashboard/exports", form, headers={"HX-Request": "true"})
    assert fragment.status_code == 200  # htmx swaps it in where the job would go
    assert 'data-status="refused"' in fragment.text
    assert "of your exports are still being prepared" in fragment.text
    page = admin.post("/dashboard/exports", form)
    assert page.status_code == 429
    assert page.headers["Retry-After"]


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

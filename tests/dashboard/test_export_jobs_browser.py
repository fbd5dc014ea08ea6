"""An export job as a person sees it, in Debian's headless Chromium, on both backends: the
button past the direct limit starts a job whose card links the file; the job's page says when
it has expired and the file is then refused at once; nobody else can open the job; and past
the number of jobs at once the card says why no job started."""

import io
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest
from fixtures import (  # noqa: F401 - fixtures, requested by name
    dashboard_app_fixture,
    server_fixture,
)

from analytics_app.exports import jobs
from analytics_app.exports.access import Requester
from analytics_app.exports.request import ExportRequest
from analytics_app.extensions import db
from analytics_app.models import DashboardUser, ExportJob
from analytics_app.reports.periods import zone
from analytics_app.reports.range import ReportRange

from browser import chromium
from dataset import Expected, generate, store
from webclient import PASSWORD, add_user

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips locally, fails under CI
    expect = None

RANGE = "start=2026-10-25&end=2026-11-02&tz=UTC"


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def rows():
    return generate(users=12)


@pytest.fixture
def site(dashboard_app, server, rows):
    dashboard_app.config["EXPORT_DIRECT_XLSX_ROWS"] = 10
    with dashboard_app.app_context():
        store(rows)
    add_user(dashboard_app, "admin@example.com", admin=True)
    add_user(dashboard_app, "analyst@example.com")
    return server


@pytest.fixture
def open_page(browser, site):
    """Open a page signed in as ``email`` in a fresh browser context."""
    contexts = []

    def open_(email):
        context = browser.new_context(accept_downloads=True)
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.goto(site.url + "/dashboard/sign-in")
        page.fill("input[name=email]", email)
        page.fill("input[name=password]", PASSWORD)
        page.click("form button[type=submit]")
        page.wait_for_url(re.compile(r"/dashboard$"))
        return page

    yield open_
    for context in contexts:
        context.close()


def _admins_job(app, export_format="csv"):
    """A job of the administrator's, recorded as the dashboard does, not run; its public id."""
    days = ReportRange(zone("UTC"), date(2026, 10, 25), date(2026, 10, 26))
    with app.app_context():
        admin = db.session.scalar(db.select(DashboardUser).filter_by(email="admin@example.com"))
        requester = Requester.dashboard_user(admin)
        return jobs.create(ExportRequest(export_format, days), requester).public_id


def _expire(app, public_id):
    with app.app_context():
        job = db.session.scalar(db.select(ExportJob).filter_by(public_id=public_id))
        job.expires_at = datetime.now(UTC) - timedelta(seconds=1)
        db.session.commit()


def test_a_job_card_links_its_file_and_its_page_says_when_it_expired(
    open_page, site, dashboard_app, rows
):
    page = open_page("admin@example.com")
    page.goto(f"{site.url}/dashboard?{RANGE}")
    page.click("#export-xlsx")  # past the direct limit: a job, shown in place
    link = page.locator(".export-job[data-status=done] a[download]")
    expect(link).to_be_visible()
    with page.expect_download() as download:
        link.click()
    workbook = openpyxl.load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))
    wanted = Expected(rows, "UTC").in_range(date(2026, 10, 25), date(2026, 11, 2))
    assert workbook.worksheets[0].max_row - 1 == len(wanted)

    file_url = link.get_attribute("href")
    public_id = re.fullmatch(r"/dashboard/exports/([A-Za-z0-9_-]{22})/file", file_url).group(1)
    page.goto(f"{site.url}/dashboard/exports/{public_id}")
    expect(page.locator(".export-job")).to_have_attribute("data-status", "done")

    _expire(dashboard_app, public_id)
    page.reload()
    card = page.locator(".export-job")
    expect(card).to_have_attribute("data-status", "expired")
    expect(card).to_contain_text("expired: export again from the overview")
    expect(card.locator("a[download]")).to_have_count(0)
    gone = page.goto(site.url + file_url)
    assert gone.status == 410
    expect(page.locator("main")).to_contain_text("This export has expired; export again.")


def test_another_user_cannot_open_the_job(open_page, site, dashboard_app):
    public_id = _admins_job(dashboard_app)
    page = open_page("analyst@example.com")
    for path in (f"/dashboard/exports/{public_id}", f"/dashboard/exports/{public_id}/file"):
        response = page.goto(site.url + path)
        assert response.status == 404, path
        expect(page.locator("main")).to_contain_text("No such export job.")


def test_past_the_jobs_at_once_the_card_says_why_no_job_started(open_page, site, dashboard_app):
    for _ in range(dashboard_app.config["EXPORT_CONCURRENT_JOBS"]):
        _admins_job(dashboard_app, "xlsx")
    page = open_page("admin@example.com")
    page.goto(f"{site.url}/dashboard?{RANGE}")
    page.click("#export-xlsx")
    refused = page.locator(".export-job[data-status=refused]")
    expect(refused).to_contain_text("of your exports are still being prepared")
    expect(page.locator(".export-job[data-status=done]")).to_have_count(0)

"""The dashboard in Debian's headless Chromium, against the app on PostgreSQL.

The site, the browser and the recording contexts come from browsing.py. The overview
screenshots in docs/screenshots/ are written here.

Needs /usr/bin/chromium and the ``playwright`` package (its Python driver only); without
them the tests are skipped, except under ``CI=true``, where they fail (as tests/e2e does).
"""

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import openpyxl
import psycopg
import pytest
import requests
from browsing import (  # noqa: F401 - fixtures, requested by name
    ADMIN,
    DEFAULT_DAYS,
    DESKTOP,
    PHONE,
    SCREENSHOTS,
    assert_clean,
    browser_fixture,
    chart_points,
    eventually,
    new_context,
    open_context_fixture,
    shown_range,
    sign_in,
    site_fixture,
)
from slow_queries import slow_top_pages

from analytics_app.reports import activity, raw

from helpers import make_event, make_token
from webclient import PASSWORD

XSS_USER = "<img src=x onerror=alert('user')>"
XSS_NOTE = "<script>alert('payload')</script>"

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips locally, fails under CI
    expect = None


@pytest.fixture(scope="module")
def admin_session(browser, site):
    """One signed-in administrator's page, shared by the overview tests.

    plotly.js takes a second or more to start in a fresh browser profile, so these tests
    share one. Its clock is Playwright's: time flows as usual, and a test may jump ahead.
    """
    context, recorder = new_context(browser)
    page = context.new_page()
    page.clock.install()
    sign_in(page, site)
    page.wait_for_selector("#dau-chart .main-svg")
    yield page, recorder
    context.close()


@pytest.fixture
def admin_page(admin_session, site):
    """The shared page, on a freshly loaded overview; checked clean after the test."""
    page, recorder = admin_session
    since = (len(recorder.urls), len(recorder.errors), len(recorder.dialogs))
    page.goto(site.url + "/dashboard")
    page.wait_for_selector("#dau-chart .main-svg")
    yield page
    page.set_viewport_size(DESKTOP)
    assert_clean(recorder, since)


def count_events(site, start, end, **filters):
    """Events in the UTC days from ``start`` to ``end`` with the filters, read with psycopg."""
    conditions = ["ts >= %(lo)s", "ts < %(hi)s"] + [f"{name} = %({name})s" for name in filters]
    lo = datetime.combine(start, datetime.min.time(), tzinfo=UTC)
    hi = datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    sql = f"SELECT count(*) FROM events WHERE {' AND '.join(conditions)}"
    with psycopg.connect(site.database_url) as connection:
        return connection.execute(sql, {"lo": lo, "hi": hi, **filters}).fetchone()[0]


def test_sign_in_and_sign_out_ends_the_session_everywhere(open_context, site):
    context, recorder = open_context()
    page = context.new_page()
    page.goto(site.url + "/")
    assert urlsplit(page.url).path == "/dashboard/sign-in"
    sign_in(page, site, path="/")
    page.wait_for_selector("#dau-chart")
    assert urlsplit(page.url).path == "/dashboard"
    expect(page.locator(".who .email")).to_have_text(ADMIN)

    [cookie] = [c for c in context.cookies() if c["name"] == "analytics_session"]
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Lax"
    copied = {"analytics_session": cookie["value"]}
    alive = requests.get(site.url + "/dashboard", cookies=copied, allow_redirects=False)
    assert alive.status_code == 200

    # Admin pages and a minted token, shown once; then sign out.
    for path in ("/dashboard/admin/users", "/dashboard/admin/tokens"):
        page.goto(site.url + path)
        expect(page.locator("h1")).to_be_visible()
    page.fill("input[name=sub]", "browser-test")
    page.click("#mint-token button[type=submit]")
    expect(page.locator("#new-token")).to_have_text(re.compile(r"^[\w-]+\.[\w-]+\.[\w-]+$"))
    page.click("text=Sign out")
    expect(page.locator(".flash.info")).to_have_text("You are signed out.")
    assert urlsplit(page.url).path == "/dashboard/sign-in"
    replay = requests.get(site.url + "/dashboard", cookies=copied, allow_redirects=False)
    assert replay.status_code == 302
    assert replay.headers["Location"].startswith("/dashboard/sign-in")
    # Every asset came from the app itself (the fixture checks no request left this host).
    paths = {urlsplit(url).path for url in recorder.urls}
    assert "/static/vendor/plotly/plotly-analytics.min.js" in paths
    assert "/static/vendor/htmx/htmx.min.js" in paths


def test_a_sign_in_post_without_the_csrf_token_is_refused(site):
    refused = requests.post(
        site.url + "/dashboard/sign-in",
        data={"email": ADMIN, "password": PASSWORD},
        allow_redirects=False,
    )
    assert refused.status_code == 400
    assert "Set-Cookie" not in refused.headers or "sid" not in refused.headers["Set-Cookie"]


def test_the_overview_draws_one_point_per_day_and_is_screenshot(admin_page):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = admin_page
    start, end = shown_range(page)
    assert (end - start).days + 1 == DEFAULT_DAYS
    assert chart_points(page) == DEFAULT_DAYS
    assert page.evaluate("document.getElementById('types-chart').data[0].type") == "bar"
    page.screenshot(path=str(SCREENSHOTS / "overview-desktop.png"), full_page=True)

    page.set_viewport_size(PHONE)
    page.reload()
    page.wait_for_selector("#dau-chart .main-svg")
    assert chart_points(page) == DEFAULT_DAYS
    # Nothing is wider than the phone: no sideways scrolling of the page.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(SCREENSHOTS / "overview-phone.png"), full_page=True)


def test_a_filter_change_updates_the_panels_and_the_url(admin_page, site):
    page = admin_page
    start, end = shown_range(page)
    expect(page.locator("#tile-events .tile-value")).to_have_text(
        f"{count_events(site, start, end):,}"
    )

    page.select_option("select[name=type]", "video_play")
    page.wait_for_url(re.compile(r"type=video_play"))
    videos = f"{count_events(site, start, end, type='video_play'):,}"
    expect(page.locator("#tile-events .tile-value")).to_have_text(videos)
    expect(page.locator(".chip")).to_have_text("type: video_play")

    week_start = end - timedelta(days=6)
    page.fill("input[name=start]", week_start.isoformat())  # fires change, as a person would
    page.wait_for_url(re.compile(rf"start={week_start}"))
    expect(page.locator("#dau-chart")).to_have_attribute("aria-label", re.compile(str(week_start)))
    assert eventually(lambda: chart_points(page) == 7)
    query = parse_qs(urlsplit(page.url).query)
    assert query == {
        "start": [week_start.isoformat()],
        "end": [end.isoformat()],
        "tz": ["UTC"],
        "type": ["video_play"],
    }
    week_videos = f"{count_events(site, week_start, end, type='video_play'):,}"
    expect(page.locator("#tile-events .tile-value")).to_have_text(week_videos)

    # The URL is the view: loading it afresh shows the same state.
    page.goto(page.url)
    page.wait_for_selector("#dau-chart .main-svg")
    assert page.input_value("select[name=type]") == "video_play"
    assert shown_range(page) == (week_start, end)
    assert chart_points(page) == 7
    expect(page.locator("#tile-events .tile-value")).to_have_text(week_videos)


def _read_csv(path):
    return list(csv.DictReader(io.StringIO(Path(path).read_text(encoding="utf-8"), newline="")))


def test_export_buttons_download_the_rows_on_screen(admin_page, site):
    page = admin_page
    page.goto(site.url + "/dashboard?type=search_query&src=web_app")
    start, end = shown_range(page)
    expected = count_events(site, start, end, type="search_query", src="web_app")
    assert expected > 0

    with page.expect_download() as csv_download:
        page.click("#export-csv")
    table = _read_csv(csv_download.value.path())
    assert csv_download.value.suggested_filename == f"events_{start}_{end}.csv"
    assert len(table) == expected
    assert {(row["type"], row["src"]) for row in table} == {("search_query", "web_app")}

    # Excel over the direct limit: a background job with a progress bar, then a link.
    site.app.config["EXPORT_DIRECT_XLSX_ROWS"] = 10
    try:
        page.reload()
        page.click("#export-xlsx")
        link = page.locator(".export-job[data-status=done] a[download]")
        expect(link).to_be_visible()
        expect(page.locator(".export-job progress")).to_have_attribute("value", str(expected))
        with page.expect_download() as xlsx_download:
            link.click()
    finally:
        site.app.config["EXPORT_DIRECT_XLSX_ROWS"] = 20_000
    content = Path(xlsx_download.value.path()).read_bytes()  # (a path without .xlsx)
    workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    [sheet] = workbook.worksheets
    header, *rows = list(sheet.iter_rows(values_only=True))
    assert header == ("id", "ts (UTC)", "user_id", "type", "src", "payload")  # the view's zone
    assert len(rows) == expected
    assert {(row[3], row[4]) for row in rows} == {("search_query", "web_app")}


def test_event_markup_arriving_later_shows_as_text(admin_page, admin_session, site):
    """The recent-events table refreshes itself; a new event with markup appears as text."""
    page, recorder = admin_page, admin_session[1]
    event = make_event(user_id=XSS_USER, type="error_occurred", payload={"note": XSS_NOTE})
    ingest = requests.post(
        site.url + "/api/analytics/ingest",
        json=[event],
        headers={"Authorization": f"Bearer {make_token()}"},
        timeout=10,
    )
    assert ingest.status_code == 200
    row = page.locator("#panel-recent tbody tr").first
    expect(row.locator("td.user")).not_to_have_text(XSS_USER)
    with page.expect_response(lambda response: "/dashboard/panels/recent" in response.url):
        page.clock.run_for(10_000)  # the table's own poll (hx-trigger="every 10s")
    expect(row.locator("td.user")).to_have_text(XSS_USER)
    expect(row.locator("td.payload")).to_contain_text(XSS_NOTE)
    assert page.locator("#panel-recent script, #panel-recent img").count() == 0
    assert not recorder.dialogs


def test_a_slow_panel_shows_its_message_while_the_others_render(admin_page, site, monkeypatch):
    """A report past the statement time limit fails in its own panel, with a retry."""
    page = admin_page
    start, end = shown_range(page)
    site.app.config["REPORT_STATEMENT_TIMEOUT_SECONDS"] = 0.5
    monkeypatch.setattr(raw, "top_pages", slow_top_pages)
    monkeypatch.setattr(activity, "top_pages", slow_top_pages)  # the rolled-up days' pages
    try:
        page.reload()
        failed = page.locator("#panel-pages[data-state=failed]")
        expect(failed).to_contain_text("The report took longer than 0.5 s; retry later")
        expect(failed.get_by_role("button", name="Retry")).to_be_visible()
        page.wait_for_selector("#dau-chart .main-svg")
        assert chart_points(page) == DEFAULT_DAYS
        expect(page.locator("#tile-events .tile-value")).to_have_text(
            f"{count_events(site, start, end):,}"
        )
        expect(page.locator("#types-chart .main-svg").first).to_be_visible()
        expect(page.locator("#request-error")).to_be_hidden()
        page.screenshot(path=str(SCREENSHOTS / "overview-slow-panel.png"), full_page=True)

        # Once the report is quick again, the retry fills the panel in place.
        monkeypatch.undo()
        failed.get_by_role("button", name="Retry").click()
        expect(page.locator("#panel-pages #top-pages")).to_be_visible()
    finally:
        site.app.config["REPORT_STATEMENT_TIMEOUT_SECONDS"] = 20.0

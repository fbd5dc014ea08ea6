"""What a person sees on the overview, in Chromium: date presets, their own time zone, today
as a partial day, dark mode, chart downloads, tables that keep their shape, panels that fit
the filter, quick filter changes without errors, and HTML error pages.

The site, the browser and the recording contexts come from browsing.py (demo data on
PostgreSQL); screenshots in docs/screenshots/ for light and dark, laptop and phone.
"""

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import requests
from browsing import (  # noqa: F401 - fixtures, requested by name
    DEFAULT_DAYS,
    DESKTOP,
    PHONE,
    SCREENSHOTS,
    browser_fixture,
    chart_points,
    eventually,
    open_context_fixture,
    shown_range,
    sign_in,
    site_fixture,
)

from helpers import make_event, make_token

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips locally, fails under CI
    expect = None

LONG_USER = "someone.with.a.very.long.address." * 6 + "@example.com"


def overview(open_context, site, viewport=DESKTOP, path="/dashboard", **options):
    """A signed-in page on the overview, its charts drawn."""
    context, _ = open_context(viewport, **options)
    page = context.new_page()
    sign_in(page, site, path=path)
    page.wait_for_selector("#dau-chart .main-svg")
    return page


def today_utc():
    return datetime.now(UTC).date()


def test_date_presets_set_the_range_in_the_address_and_the_panels(open_context, site):
    page = overview(open_context, site)
    today = today_utc()
    expect(page.locator("[data-preset]")).to_have_count(6)

    page.click("text=Last 7 days")
    page.wait_for_url(re.compile(rf"start={today - timedelta(days=6)}&end={today}"))
    expect(page.locator("[data-preset='7d']")).to_have_attribute("aria-pressed", "true")
    assert eventually(lambda: chart_points(page) == 7)

    page.click("text=Last month")
    last = today.replace(day=1) - timedelta(days=1)
    page.wait_for_url(re.compile(rf"start={last.replace(day=1)}&end={last}"))
    expect(page.locator("[data-preset='last-month']")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("[data-preset='7d']")).to_have_attribute("aria-pressed", "false")
    # The page at that address comes with that preset pressed (the script need not run).
    served = page.context.request.get(page.url).text()
    assert 'data-preset="last-month" aria-pressed="true"' in served
    assert served.count('aria-pressed="true"') == 1

    page.click("text=Today")
    page.wait_for_url(re.compile(rf"start={today}&end={today}"))
    assert eventually(lambda: chart_points(page) == 1)


def test_the_browsers_time_zone_is_the_default_one(open_context, site):
    page = overview(open_context, site, timezone_id="Asia/Tokyo")
    tokyo_today = datetime.now(ZoneInfo("Asia/Tokyo")).date()
    # The sign-in page already told the server (a cookie): the overview opens in that zone.
    expect(page.locator(".summary-bar .range")).to_contain_text("Asia/Tokyo")
    assert page.input_value("input[name=tz]") == "Asia/Tokyo"
    assert shown_range(page)[1] == tokyo_today
    assert "tz" not in parse_qs(urlsplit(page.url).query)

    # A page rendered before the server knew the zone switches to it at once.
    page.context.clear_cookies(name="analytics_tz")
    page.goto(site.url + "/dashboard")
    page.wait_for_url(re.compile(r"tz=Asia/Tokyo"))
    expect(page.locator(".summary-bar .range")).to_contain_text("Asia/Tokyo")
    page.wait_for_selector("#dau-chart .main-svg")

    # A cookie naming another zone (the browser has moved since): the page follows the
    # browser's zone too, once it has opened.
    host = urlsplit(site.url).hostname
    stale = {"name": "analytics_tz", "value": "Europe/Paris", "domain": host, "path": "/dashboard"}
    page.context.add_cookies([stale])
    served = page.context.request.get(site.url + "/dashboard").text()
    assert 'name="tz" value="Europe/Paris"' in served
    page.goto(site.url + "/dashboard")
    page.wait_for_url(re.compile(r"tz=Asia/Tokyo"))
    expect(page.locator(".summary-bar .range")).to_contain_text("Asia/Tokyo")
    page.wait_for_selector("#dau-chart .main-svg")


def test_today_is_drawn_apart_and_the_tiles_show_the_last_complete_day(open_context, site):
    page = overview(open_context, site)
    traces = page.evaluate(
        "Array.from(document.getElementById('dau-chart').data, t => "
        "({x: t.x, dash: (t.line || {}).dash || 'solid', text: t.text || null}))"
    )
    finished, partial = traces
    today, yesterday = today_utc(), today_utc() - timedelta(days=1)
    assert finished["dash"] == "solid"
    assert finished["x"][-1] == yesterday.isoformat()
    assert partial["dash"] == "dash"
    assert partial["x"] == [yesterday.isoformat(), today.isoformat()]
    assert partial["text"][-1] == "so far"
    expect(page.locator("#dau-chart")).to_contain_text("so far")
    expect(page.locator("#tile-dau .tile-hint")).to_have_text(f"on {yesterday}")
    expect(page.locator("#tile-stickiness .tile-hint")).to_have_text(f"DAU / MAU on {yesterday}")
    # Counts are whole numbers: no tick of the DAU axis has a fraction.
    ticks = page.eval_on_selector_all("#dau-chart .ytick text", "ts => ts.map(t => t.textContent)")
    assert ticks and all(re.fullmatch(r"[\d,]+", tick) for tick in ticks), ticks


# Every label of the DAU chart (the dates, the counts, "so far") shown with its box poking out
# of the chart's, with the box. (Plotly hides a tick label that would cross the chart's edge.)
LABELS_OUTSIDE = """() => {
  const chart = document.getElementById('dau-chart').getBoundingClientRect();
  return Array.from(document.querySelectorAll(
    '#dau-chart .xtick text, #dau-chart .ytick text, #dau-chart .textpoint text'))
    .map((label) => [label.textContent, label.getBoundingClientRect()])
    .filter(([, box]) => box.width > 0)
    .filter(([, box]) => box.left < chart.left || box.right > chart.right
      || box.top < chart.top || box.bottom > chart.bottom)
    .map(([text, box]) => [text, box.left, box.top, box.right, box.bottom]);
}"""


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["laptop", "phone"])
def test_the_dau_charts_labels_are_never_cut(open_context, site, viewport):
    """On a phone the dates are tilted to fit, and "so far" ends at the last point."""
    page = overview(open_context, site, viewport)
    expect(page.locator("#dau-chart")).to_contain_text("so far")
    assert page.locator("#dau-chart .xtick text").count() >= 3
    assert page.evaluate(LABELS_OUTSIDE) == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_page_and_its_charts_follow_the_systems_colour_scheme(open_context, site, scheme):
    page = overview(open_context, site, color_scheme=scheme)
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    font = page.evaluate("document.getElementById('dau-chart')._fullLayout.font.color")
    dark = scheme == "dark"
    assert (background == "rgb(11, 16, 32)") is dark, background
    assert (font == "#cbd5e1") is dark, font
    if dark:  # the light ones are test_dashboard_browser.py's
        page.screenshot(path=str(SCREENSHOTS / "overview-dark-desktop.png"), full_page=True)
        page.set_viewport_size(PHONE)
        page.reload()
        page.wait_for_selector("#dau-chart .main-svg")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.screenshot(path=str(SCREENSHOTS / "overview-dark-phone.png"), full_page=True)


def test_a_charts_figures_download_as_csv_and_its_picture_as_png(open_context, site):
    page = overview(open_context, site)
    start, end = shown_range(page)
    with page.expect_download() as csv_download:
        page.click("#dau-csv")
    assert csv_download.value.suggested_filename == f"dau_{start}_{end}.csv"
    rows = list(csv.DictReader(io.StringIO(Path(csv_download.value.path()).read_text())))
    assert [row["date"] for row in rows][-1] == end.isoformat()
    assert len(rows) == DEFAULT_DAYS
    assert rows[-1]["complete"] == "false" and rows[0]["complete"] == "true"
    drawn = page.evaluate("document.getElementById('dau-chart').data[0].y")
    assert [int(row["dau"]) for row in rows[: len(drawn)]] == drawn

    with page.expect_download() as png_download:
        page.click("#panel-dau [data-png]")
    assert png_download.value.suggested_filename == f"dau_{start}_{end}.png"
    assert Path(png_download.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    with page.expect_download() as types_download:
        page.click("#types-csv")
    types = list(csv.reader(io.StringIO(Path(types_download.value.path()).read_text())))
    assert types[0] == ["type", "events"]
    assert sum(int(count) for _, count in types[1:]) == int(
        page.inner_text("#tile-events .tile-value").replace(",", "")
    )


def test_the_export_buttons_offer_the_panels_figures_in_excel(open_context, site):
    """Beside the raw events, the figures behind the panels download as real spreadsheets:
    the retention workbook holds the cohorts the retention panel was drawn from."""
    page = overview(open_context, site)
    start, end = shown_range(page)
    with page.expect_download() as download:
        page.click("#figures-retention-xlsx")
    assert download.value.suggested_filename == f"retention_{start}_{end}.xlsx"
    content = io.BytesIO(Path(download.value.path()).read_bytes())  # the path has no suffix
    sheet = openpyxl.load_workbook(content, read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:2] == ("date", "new_users")
    assert [row[0].date() for row in rows[1:]] == [
        start + timedelta(days=n) for n in range((end - start).days + 1)
    ]
    shown = page.eval_on_selector_all(
        "#cohorts tbody tr",
        "rows => rows.map(r => [r.cells[0].textContent, r.cells[1].textContent])",
    )
    assert {date: int(users.replace(",", "")) for date, users in shown} == {
        row[0].date().isoformat(): row[1] for row in rows[1:]
    }


def test_quick_filter_changes_end_on_the_last_one_without_errors(open_context, site):
    page = overview(open_context, site)
    for choice in ("video_play", "button_click", "page_view", "search_query", "form_submit"):
        page.select_option("select[name=type]", choice)
    page.wait_for_url(re.compile(r"type=form_submit"))
    expect(page.locator(".chip")).to_have_text("type: form_submit")
    page.wait_for_selector("#types-chart .main-svg")
    assert page.evaluate("document.getElementById('types-chart').data[0].y") == ["form_submit"]
    # The fixture fails the test on any console error (htmx:sendAbort among them).


def test_the_pages_panel_fits_a_filter_on_another_type(open_context, site):
    page = overview(open_context, site, path="/dashboard?type=button_click")
    expect(page.locator("#panel-pages")).to_contain_text("Pages are counted from page_view events")
    expect(page.locator("#panel-pages")).not_to_contain_text("No page views")


def test_long_ids_are_cut_short_not_wrapped_over_many_lines(open_context, site):
    event = make_event(user_id=LONG_USER)
    headers = {"Authorization": f"Bearer {make_token()}"}
    response = requests.post(site.url + "/api/analytics/ingest", json=[event], headers=headers)
    assert response.status_code == 200
    page = overview(open_context, site)
    cell = page.locator("#panel-recent td.user", has_text="someone.with").first
    expect(cell).to_have_attribute("title", LONG_USER)
    line = page.evaluate("parseFloat(getComputedStyle(document.body).lineHeight)")
    assert cell.bounding_box()["height"] < 3 * line
    assert page.evaluate("document.documentElement.scrollWidth") <= DESKTOP["width"]


def test_browsers_get_html_error_pages_outside_the_dashboard_too(open_context, site):
    context, _ = open_context()
    page = context.new_page()
    response = page.goto(site.url + "/no/such/page")
    assert response.status == 404
    assert response.headers["content-type"].startswith("text/html")
    expect(page.locator("h1")).to_have_text("404")
    api = page.goto(site.url + "/api/analytics/no-such-report")
    assert api.headers["content-type"] == "application/json"


def test_the_previous_period_shows_as_changes_on_tiles_and_a_faint_line(open_context, site):
    today = today_utc()
    week = f"/dashboard?start={today - timedelta(days=6)}&end={today}"  # the week before has data
    page = overview(open_context, site, path=week)
    page.check("input[name=compare]")
    page.wait_for_url(re.compile(r"compare=previous"))
    expect(page.locator("#compared")).to_be_visible()
    expect(page.locator("#tile-events .delta")).to_have_text(re.compile(r"^[▲▼=] \d+(\.\d)? %$"))
    page.wait_for_selector("#dau-chart .main-svg")
    assert eventually(
        lambda: (
            page.evaluate(
                "Array.from(document.getElementById('dau-chart').data || [], t => t.meta)"
            )[-1:]
            == ["previous"]
        )
    )
    faint = page.evaluate("document.getElementById('dau-chart').data.at(-1)")
    assert len(faint["x"]) == 7
    assert faint["line"]["dash"] == "dot"
    # The chart's CSV holds what it draws: the previous period beside the current one.
    with page.expect_download() as csv_download:
        page.click("#dau-csv")
    rows = list(csv.DictReader(io.StringIO(Path(csv_download.value.path()).read_text())))
    assert [row["date"] for row in rows] == faint["x"]
    assert [row["previous_date"] for row in rows] == faint["customdata"]
    assert [int(row["previous_dau"]) for row in rows] == faint["y"]
    page.screenshot(path=str(SCREENSHOTS / "overview-compare-desktop.png"), full_page=True)
    # The address is the view: opened afresh, it compares again.
    page.goto(page.url)
    expect(page.locator("input[name=compare]")).to_be_checked()
    expect(page.locator("#tile-users .delta")).to_be_visible()

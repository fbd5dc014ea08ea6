"""The overview: panels that load on their own with figures that match the reports, HTMX
partials reflected in the URL, refused filters, escaped user data, and errors that stay in
their panel and never show a trace."""

import csv
import io
import json
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from fixtures import (  # noqa: F401 - fixtures, requested by name
    admin_fixture,
    dashboard_app_fixture,
    server_fixture,
)
from slow_queries import slow_top_pages

from analytics_app.dashboard import panels
from analytics_app.dashboard import selection as selection_module
from analytics_app.reports import cache, raw

from dataset import Expected, Row, generate, store

START, END, TZ = date(2026, 10, 25), date(2026, 11, 7), "America/New_York"
RANGE = {"start": START.isoformat(), "end": END.isoformat(), "tz": TZ}
XSS = "<script>alert('x')</script>"


@pytest.fixture(scope="module")
def rows():
    rows = generate(users=30)
    moment = datetime(2026, 11, 8, 4, 59, 59, tzinfo=UTC)  # the last second of END in New York
    rows.append(
        Row(moment, '<img src=x onerror="alert(1)">', "page_view", "web_app", {"page": XSS})
    )
    return rows


@pytest.fixture(autouse=True)
def _seeded(dashboard_app, rows):
    with dashboard_app.app_context():
        store(rows)


def figure(html, name="dau-figure"):
    match = re.search(rf'<script type="application/json" id="{name}">(.*?)</script>', html, re.S)
    return json.loads(match.group(1))


def panel(web, name, params=RANGE, **kwargs):
    """One panel, as the overview's placeholder asks for it."""
    return web.get(
        f"/dashboard/panels/{name}", params=params, headers={"HX-Request": "true"}, **kwargs
    )


def panel_urls(html):
    """The URL each panel placeholder loads itself from, by panel name."""
    found = re.findall(r'data-panel="(\w+)" data-state="loading"[^>]*hx-get="([^"]+)"', html)
    return {name: url.replace("&amp;", "&") for name, url in found}


def tile(html, name):
    match = re.search(rf'id="tile-{name}">.*?class="tile-value">([^<]*)<', html, re.S)
    return match.group(1)


def test_the_page_runs_no_report_and_each_panel_loads_itself(admin, dashboard_app, monkeypatch):
    monkeypatch.setitem(dashboard_app.config, "REPORT_CACHE_SECONDS", 300)  # on, as deployed
    computed = []
    bounded = cache.timeout.bounded

    def computing(compute):
        def run():
            computed.append(compute)
            return bounded(compute)()

        return run

    # Every report is computed through the cache's time limit: the page may read the cache
    # (it holds nothing for this zone), but never compute.
    monkeypatch.setattr(cache.timeout, "bounded", computing)
    zone = {**RANGE, "tz": "Pacific/Chatham"}
    page = admin.get("/dashboard", params=zone)
    assert page.status_code == 200
    assert computed == []
    urls = panel_urls(page.text)
    assert set(urls) == set(panels.PANELS)
    for name, url in urls.items():
        assert url.startswith(f"/dashboard/panels/{name}?start={START}&end={END}&tz=Pacific/")
    assert page.text.count('hx-trigger="load"') == len(panels.PANELS)
    assert admin.get(urls["totals"]).status_code == 200
    assert computed  # the panel computes its report


def test_the_dau_chart_has_one_point_per_day_with_the_reported_counts(admin, rows):
    chart = panel(admin, "dau")
    assert chart.status_code == 200
    assert "<html" not in chart.text
    [trace] = figure(chart.text)["data"]
    days = [START + timedelta(days=n) for n in range((END - START).days + 1)]
    expected = Expected(rows, TZ)
    assert trace["x"] == [day.isoformat() for day in days]
    assert trace["y"] == [expected.dau(day) for day in days]
    engagement = expected.engagement(START, END)
    totals = panel(admin, "totals").text
    assert tile(totals, "events") == f"{engagement['events']:,}"
    assert tile(totals, "users") == f"{engagement['users']:,}"
    assert tile(panel(admin, "active").text, "dau") == str(expected.dau(END))


def test_a_filter_change_answers_with_the_panels_and_the_url_to_push(admin, rows):
    args = {**RANGE, "type": "video_play", "src": "", "user_id": ""}
    response = admin.get("/dashboard", params=args, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "<html" not in response.text
    assert response.headers["HX-Push-Url"] == (
        f"/dashboard?start={START}&end={END}&tz=America/New_York&type=video_play"
    )
    urls = panel_urls(response.text)
    assert all("type=video_play" in url for url in urls.values())
    engagement = Expected(rows, TZ).engagement(START, END, type="video_play")
    totals = admin.get(urls["totals"]).text
    assert tile(totals, "events") == f"{engagement['events']:,}"
    types = admin.get(urls["types"]).text
    assert list(figure(types, "types-figure")["data"][0]["y"]) == ["video_play"]

    # The pushed URL, loaded directly, renders the same panels inside the whole page.
    page = admin.get(response.headers["HX-Push-Url"])
    assert page.status_code == 200
    assert "<html" in page.text
    assert '<option value="video_play" selected>' in page.text
    assert panel_urls(page.text) == urls

    # Back/forward after a cache miss asks again with HTMX headers: it needs the whole page.
    headers = {"HX-Request": "true", "HX-History-Restore-Request": "true"}
    assert "<html" in admin.get(response.headers["HX-Push-Url"], headers=headers).text


def test_compared_with_the_previous_period_tiles_show_changes_and_the_chart_draws_it(admin, rows):
    args = {**RANGE, "compare": "previous"}
    response = admin.get("/dashboard", params=args, headers={"HX-Request": "true"})
    assert response.headers["HX-Push-Url"].endswith("&compare=previous")
    assert re.search(r"compared with 2026-10-11 \W 2026-10-24", response.text)
    urls = panel_urls(response.text)
    assert all(url.endswith("&compare=previous") for url in urls.values())

    expected = Expected(rows, TZ)
    now = expected.engagement(START, END)
    before = expected.engagement(date(2026, 10, 11), date(2026, 10, 24))
    totals = admin.get(urls["totals"]).text
    change = (now["events"] - before["events"]) / before["events"]
    arrow = "▲" if change > 0 else "▼"
    assert re.search(
        rf'id="tile-events">.*?<span class="delta (up|down)"\s+title="Previous period: '
        rf'{before["events"]:,}">{arrow} {abs(change) * 100:.1f} %</span>',
        totals,
        re.S,
    )
    traces = figure(admin.get(urls["dau"]).text)["data"]
    [faint] = [trace for trace in traces if trace.get("meta") == "previous"]
    days = [START + timedelta(days=n) for n in range((END - START).days + 1)]
    assert faint["x"] == [day.isoformat() for day in days]
    assert faint["y"] == [expected.dau(day - timedelta(days=len(days))) for day in days]

    # Without compare, no change is shown.
    assert 'class="delta' not in panel(admin, "totals").text


def test_the_dau_charts_csv_holds_the_previous_period_when_the_chart_draws_it(admin, rows):
    expected = Expected(rows, TZ)
    days = [START + timedelta(days=n) for n in range((END - START).days + 1)]
    dau_panel = panel(admin, "dau", params={**RANGE, "compare": "previous"}).text
    link = re.search(r'id="dau-csv" download href="([^"]+)"', dau_panel).group(1)
    assert link.replace("&amp;", "&").endswith("&compare=previous")
    response = admin.get(link.replace("&amp;", "&"))
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(response.text)))
    assert table[0] == ["date", "dau", "complete", "previous_date", "previous_dau"]
    assert len(table) == 1 + len(days)
    for day, (shown, dau, complete, before, before_dau) in zip(days, table[1:], strict=True):
        earlier = day - timedelta(days=len(days))
        assert (shown, int(dau), complete) == (day.isoformat(), expected.dau(day), "true")
        assert (before, int(before_dau)) == (earlier.isoformat(), expected.dau(earlier))

    # Without the comparison the table is the current period's alone.
    plain = admin.get("/dashboard/charts/dau.csv", params=RANGE).text
    assert plain.splitlines()[0] == "date,dau,complete"
    assert [line.split(",")[:3] for line in plain.splitlines()] == [row[:3] for row in table]
    # The types chart draws no comparison: its table does not change.
    types = admin.get("/dashboard/charts/types.csv", params={**RANGE, "compare": "previous"})
    assert types.text.splitlines()[0] == "type,events"


def test_filters_that_cannot_be_shown_are_explained(admin):
    for args, message in [
        ({"start": "2026-11-07", "end": "2026-10-01"}, "The first day comes after the last."),
        ({"start": "2024-01-01", "end": "2026-01-01"}, "A range covers at most 366 days."),
        ({"tz": "Mars/Olympus_Mons"}, "is not an IANA time zone"),
        ({"type": "not_a_type"}, "Not a valid choice"),
        ({"start": "yesterday"}, "Not a valid date value"),
        ({"start": "0001-01-01", "tz": "Asia/Tokyo"}, "Dates run from 01 Jan 1970 to 31 Dec 2200."),
        ({"end": "9999-12-31"}, "Dates run from 01 Jan 1970 to 31 Dec 2200."),
        ({"src": "web\x00app"}, "Must not contain NUL characters."),
        ({"user_id": "\x00"}, "Must not contain NUL characters."),
    ]:
        page = admin.get("/dashboard", params=args)
        assert page.status_code == 422, args
        assert message in page.text, args
        partial = admin.get("/dashboard", params=args, headers={"HX-Request": "true"})
        assert partial.status_code == 422, args  # swapped in all the same (responseHandling)
        assert message in partial.text, args
        assert partial.headers["HX-Push-Url"] == "false", args  # the URL keeps the last view
        refused = panel(admin, "dau", params=args)
        assert refused.status_code == 422, args
        assert refused.headers["X-Panel"] == "failed", args
        assert message in refused.text, args


def test_payloads_and_user_ids_show_as_text(admin):
    pages = panel(admin, "pages").text
    recent = admin.get("/dashboard/recent", params=RANGE).text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in pages
    for html in (recent,):
        assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
        assert "<script>alert" not in html
        assert "<img src=x" not in html


def test_the_recent_events_fragment_refreshes_itself(admin, rows):
    recent = admin.get("/dashboard/recent", params={**RANGE, "src": "ios_app"})
    assert recent.status_code == 200
    assert 'hx-trigger="every 10s"' in recent.text
    assert "<html" not in recent.text
    assert recent.text.count("<tr>") == 1 + 20  # the header row and the latest 20
    assert "web_app" not in recent.text


def test_a_report_past_its_time_limit_fails_in_its_own_panel(dashboard_app, admin, monkeypatch):
    dashboard_app.config["REPORT_STATEMENT_TIMEOUT_SECONDS"] = 0.3
    monkeypatch.setattr(raw, "top_pages", slow_top_pages)
    slow = panel(admin, "pages")
    assert slow.status_code == 503
    assert slow.headers["Retry-After"] == "1"
    assert slow.headers["X-Panel"] == "failed"
    assert "<html" not in slow.text
    assert "<h2>Top pages</h2>" in slow.text
    assert "The report took longer than 0.3 s; retry later or narrow the range." in slow.text
    retry = re.search(r'<button[^>]*hx-get="([^"]+)"[^>]*>Retry</button>', slow.text)
    assert retry.group(1).replace("&amp;", "&").startswith("/dashboard/panels/pages?")
    # The other panels, and the page, are untouched.
    assert panel(admin, "totals").status_code == 200
    assert admin.get("/dashboard", params=RANGE).status_code == 200


def test_an_unexpected_error_stays_in_its_panel_without_a_trace(admin, monkeypatch):
    def broken(selection):
        raise RuntimeError("secret internals: password=hunter2")

    monkeypatch.setitem(panels.PANELS, "dau", ("Daily active users", broken))
    failed = panel(admin, "dau")
    assert failed.status_code == 500
    assert failed.headers["X-Panel"] == "failed"
    assert "could not be drawn" in failed.text
    assert "hunter2" not in failed.text
    assert "Traceback" not in failed.text
    assert re.search(r"Reference: <code>[0-9a-f]{32}</code>", failed.text)
    assert panel(admin, "totals").status_code == 200


def test_an_unexpected_error_on_a_page_shows_a_plain_page_without_a_trace(admin, monkeypatch):
    def broken(args):
        raise RuntimeError("secret internals: password=hunter2")

    monkeypatch.setattr(selection_module, "parse", broken)
    page = admin.get("/dashboard")
    assert page.status_code == 500
    assert page.headers["Content-Type"].startswith("text/html")
    assert "Something went wrong" in page.text
    assert "hunter2" not in page.text
    assert "Traceback" not in page.text
    assert re.search(r"Reference: <code>[0-9a-f]{32}</code>", page.text)

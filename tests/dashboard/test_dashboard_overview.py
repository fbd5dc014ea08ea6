"""The overview: figures that match the reports, HTMX partials reflected in the URL, refused
filters, escaped user data, and errors that never show a trace."""

import json
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from fixtures import (  # noqa: F401 - fixtures, requested by name
    admin_fixture,
    dashboard_app_fixture,
    server_fixture,
)

from analytics_app.dashboard import panels

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


def tile(html, name):
    match = re.search(rf'id="tile-{name}">.*?class="tile-value">([^<]*)<', html, re.S)
    return match.group(1)


def test_the_dau_chart_has_one_point_per_day_with_the_reported_counts(admin, rows):
    page = admin.get("/dashboard", params=RANGE)
    assert page.status_code == 200
    [trace] = figure(page.text)["data"]
    days = [START + timedelta(days=n) for n in range((END - START).days + 1)]
    expected = Expected(rows, TZ)
    assert trace["x"] == [day.isoformat() for day in days]
    assert trace["y"] == [expected.dau(day) for day in days]
    engagement = expected.engagement(START, END)
    assert tile(page.text, "events") == f"{engagement['events']:,}"
    assert tile(page.text, "users") == f"{engagement['users']:,}"
    assert tile(page.text, "dau") == str(expected.dau(END))


def test_a_filter_change_answers_with_the_panels_and_the_url_to_push(admin, rows):
    args = {**RANGE, "type": "video_play", "src": "", "user_id": ""}
    response = admin.get("/dashboard", params=args, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "<html" not in response.text
    assert response.headers["HX-Push-Url"] == (
        f"/dashboard?start={START}&end={END}&tz=America/New_York&type=video_play"
    )
    engagement = Expected(rows, TZ).engagement(START, END, type="video_play")
    assert tile(response.text, "events") == f"{engagement['events']:,}"
    assert list(figure(response.text, "types-figure")["data"][0]["y"]) == ["video_play"]

    # The pushed URL, loaded directly, renders the same panels inside the whole page.
    page = admin.get(response.headers["HX-Push-Url"])
    assert page.status_code == 200
    assert "<html" in page.text
    assert '<option value="video_play" selected>' in page.text
    assert tile(page.text, "events") == tile(response.text, "events")
    assert figure(page.text) == figure(response.text)

    # Back/forward after a cache miss asks again with HTMX headers: it needs the whole page.
    headers = {"HX-Request": "true", "HX-History-Restore-Request": "true"}
    assert "<html" in admin.get(response.headers["HX-Push-Url"], headers=headers).text


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


def test_payloads_and_user_ids_show_as_text(admin):
    page = admin.get("/dashboard", params=RANGE).text
    recent = admin.get("/dashboard/recent", params=RANGE).text
    for html in (page, recent):
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


def test_an_unexpected_error_shows_a_plain_page_without_a_trace(admin, monkeypatch):
    def broken(selection):
        raise RuntimeError("secret internals: password=hunter2")

    monkeypatch.setattr(panels, "overview", broken)
    page = admin.get("/dashboard")
    assert page.status_code == 500
    assert page.headers["Content-Type"].startswith("text/html")
    assert "Something went wrong" in page.text
    assert "hunter2" not in page.text
    assert "Traceback" not in page.text
    assert re.search(r"Reference: <code>[0-9a-f]{32}</code>", page.text)

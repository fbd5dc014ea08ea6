"""The overview's split-by panel over HTTP: the API's breakdown rows, the filter bar's
selection, escaped payload values and refused dimensions."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from fixtures import (  # noqa: F401 - fixtures, requested by name
    admin_fixture,
    dashboard_app_fixture,
    server_fixture,
)

from dataset import Row, store
from helpers import Client, make_event, make_token

XSS = "<script>alert('split')</script>"
RANGE = {"start": "2026-11-10", "end": "2026-11-11", "tz": "UTC"}
PATH = "/dashboard/breakdown"


@pytest.fixture(autouse=True)
def _seeded(dashboard_app):
    moment = datetime(2026, 11, 10, 9, tzinfo=UTC)
    rows = []
    for n in range(40):
        page = XSS if n % 7 == 0 else f"/page-{n % 13}"
        payload = {"page": page} if n % 5 else {}
        src = ["web_app", "ios_app", None][n % 3]
        kind = ["page_view", "button_click"][n % 2]
        rows.append(Row(moment + timedelta(minutes=n), f"u-{n % 9}", kind, src, payload))
    with dashboard_app.app_context():
        store(rows)


def api_rows(server, **params):
    client = Client(server.url, make_token(scope="analytics:read"))
    query = {**RANGE, "limit": 10, **params}
    return client.get("/api/analytics/reports/breakdown", params=query).json()["rows"]


def shown_rows(html):
    body = re.search(r'<table id="split-table".*?<tbody>(.*?)</tbody>', html, re.S).group(1)
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        label = re.sub(r"<meter.*?</meter>", "", cells[0], flags=re.S).strip()
        rows.append((label, int(cells[1].replace(",", "")), int(cells[2].replace(",", ""))))
    return rows


def label(row, n):
    if row["value"] is None:
        return '<span class="muted">(none)</span>'
    if n >= 10:
        return '<span class="muted">other values</span>'
    return row["value"].replace("<", "&lt;").replace(">", "&gt;").replace("'", "&#39;")


@pytest.mark.parametrize("by", ["type", "src", "payload.page"])
def test_the_panel_shows_the_apis_breakdown(admin, server, by):
    page = admin.get(PATH, params={**RANGE, "by": by})
    assert page.status_code == 200
    expected = api_rows(server, by=by)
    assert shown_rows(page.text) == [
        (label(row, n), row["events"], row["users"]) for n, row in enumerate(expected)
    ]
    if by == "payload.page":
        assert XSS not in page.text
        assert 'value="payload.page" selected' in page.text


def test_the_filter_bar_applies(admin, server):
    page = admin.get(PATH, params={**RANGE, "by": "type", "src": "ios_app"})
    expected = api_rows(server, by="type", src="ios_app")
    assert [row[1] for row in shown_rows(page.text)] == [row["events"] for row in expected]


def test_a_bad_dimension_is_refused_in_the_panel(admin):
    page = admin.get(PATH, params={**RANGE, "by": "payload."})
    assert page.status_code == 422
    assert 'role="alert"' in page.text


def test_the_overview_loads_the_panel(admin):
    page = admin.get("/dashboard", params=RANGE)
    assert 'id="split-form"' in page.text and 'hx-get="/dashboard/breakdown"' in page.text


def test_a_payload_key_ingested_since_is_offered_at_once(admin, server):
    """The keys offered are cached like a report: an ingest answered before the panel is
    asked for again shows in it."""
    assert 'value="payload.coupon"' not in admin.get(PATH, params={**RANGE, "by": "type"}).text
    event = make_event(ts="2026-11-10T12:00:00Z", payload={"coupon": "WINTER"})
    assert Client(server.url, make_token()).ingest([event]).status_code == 200
    assert 'value="payload.coupon"' in admin.get(PATH, params={**RANGE, "by": "type"}).text

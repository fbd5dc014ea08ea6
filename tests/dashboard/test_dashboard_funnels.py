"""The Funnels page over HTTP: the API's figures, shareable addresses, refused steps, escaped
payload values, and exports equal to the API's."""

import csv
import io
import json
import re
from datetime import UTC, date, datetime, timedelta

import openpyxl
import pytest
from fixtures import (  # noqa: F401 - fixtures, requested by name
    admin_fixture,
    anonymous_fixture,
    dashboard_app_fixture,
    server_fixture,
)

from dataset import Row, store
from helpers import Client, make_token

DAY = date(2026, 11, 10)
NOON = datetime(2026, 11, 10, 12, tzinfo=UTC)
XSS = "<img src=x onerror=alert(1)>"
STEPS = ["page_view", f"page_view[page={XSS}]", "button_click[plan=pro]"]
QUERY = {"step": STEPS, "start": DAY.isoformat(), "end": DAY.isoformat(), "tz": "UTC"}


@pytest.fixture(autouse=True)
def _seeded(dashboard_app):
    rows = []
    for n in range(12):
        user, moment = f"u-{n}", NOON + timedelta(minutes=n)
        rows.append(Row(moment, user, "page_view", "web_app", {"page": "/"}))
        if n % 2 == 0:
            rows.append(
                Row(moment + timedelta(seconds=30), user, "page_view", "web_app", {"page": XSS})
            )
        if n % 4 == 0:
            plan = {"plan": "pro"}
            rows.append(Row(moment + timedelta(seconds=90), user, "button_click", "web_app", plan))
    with dashboard_app.app_context():
        store(rows)


def api_funnel(server, **params):
    client = Client(server.url, make_token(scope="analytics:read"))
    response = client.get("/api/analytics/reports/funnel", params={**QUERY, **params})
    assert response.status_code == 200, response.text
    return response.json()


def table_rows(html):
    body = re.search(r'<table id="funnel-table">.*?<tbody>(.*?)</tbody>', html, re.S).group(1)
    return [
        re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def test_the_page_shows_the_apis_figures(admin, server):
    page = admin.get("/dashboard/funnels", params=QUERY)
    assert page.status_code == 200
    expected = api_funnel(server)["steps"]
    rows = table_rows(page.text)
    assert [int(row[1].replace(",", "")) for row in rows] == [s["users"] for s in expected]
    assert [s["users"] for s in expected] == [12, 6, 3]
    figure = json.loads(re.search(r'id="funnel-figure">(.*?)</script>', page.text, re.S).group(1))
    assert figure["data"][0]["y"] == [12, 6, 3]


def test_hostile_payload_values_are_shown_as_text(admin):
    page = admin.get("/dashboard/funnels", params=QUERY)
    assert XSS not in page.text
    assert "&lt;img src=x onerror=alert(1)&gt;" in page.text


def test_an_htmx_request_gets_the_result_and_the_shareable_address(admin):
    page = admin.get("/dashboard/funnels", params=QUERY, headers={"HX-Request": "true"})
    assert page.status_code == 200
    assert 'id="funnel-table"' in page.text and "<html" not in page.text
    pushed = page.headers["HX-Push-Url"]
    reopened = admin.get(pushed)
    assert table_rows(reopened.text) == table_rows(page.text)
    assert pushed.count("step=") == 3 and "window=1d" in pushed


@pytest.mark.parametrize(
    "params",
    [{"step": ["page_view", "teleport"]}, {"window": "forever"}, {"step": ["page_view"] * 11}],
)
def test_bad_steps_are_refused_on_the_page(admin, params):
    page = admin.get("/dashboard/funnels", params={**QUERY, **params})
    assert page.status_code == 422
    assert 'id="filter-errors"' in page.text


def test_without_two_steps_the_page_explains_what_to_give(admin):
    page = admin.get("/dashboard/funnels", params={"step": "page_view"})
    assert page.status_code == 200
    assert 'id="funnel-help"' in page.text


@pytest.mark.parametrize("export_format", ["csv", "xlsx"])
def test_exports_hold_the_apis_figures(admin, server, export_format):
    response = admin.get("/dashboard/funnels/export", params={**QUERY, "format": export_format})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    client = Client(server.url, make_token(scope="analytics:read"))
    api = client.get("/api/analytics/reports/funnel", params={**QUERY, "format": export_format})
    if export_format == "csv":
        assert response.text == api.text
        rows = list(csv.reader(io.StringIO(response.text)))
    else:
        rows = [
            [cell.value for cell in row]
            for row in openpyxl.load_workbook(io.BytesIO(response.content)).active.iter_rows()
        ]
        api_rows = openpyxl.load_workbook(io.BytesIO(api.content)).active.iter_rows()
        assert rows == [[cell.value for cell in row] for row in api_rows]
    assert rows[0][:2] == ["step", "users"]
    assert [int(row[1]) for row in rows[1:]] == [12, 6, 3]
    assert rows[2][0] == STEPS[1]  # the hostile value, as text


def seed_previous_day(app):
    """The day before ``DAY``: 8 users view, 4 of them the hostile page, 2 click pro."""
    rows = []
    for n in range(8):
        user, moment = f"p-{n}", NOON - timedelta(days=1, minutes=n)
        rows.append(Row(moment, user, "page_view", "web_app", {"page": "/"}))
        if n % 2 == 0:
            page = {"page": XSS}
            rows.append(Row(moment + timedelta(seconds=30), user, "page_view", "web_app", page))
        if n % 4 == 0:
            plan = {"plan": "pro"}
            rows.append(Row(moment + timedelta(seconds=90), user, "button_click", "web_app", plan))
    with app.app_context():
        store(rows)


def test_compared_with_the_previous_period_the_page_shows_the_apis_previous_figures(
    admin, server, dashboard_app
):
    seed_previous_day(dashboard_app)
    compared = {**QUERY, "compare": "previous"}
    api = api_funnel(server, compare="previous")
    before = api["previous"]["steps"]
    assert [s["users"] for s in before] == [8, 4, 2]
    page = admin.get("/dashboard/funnels", params=compared, headers={"HX-Request": "true"})
    assert page.status_code == 200
    assert "compare=previous" in page.headers["HX-Push-Url"]  # the address shares it
    assert re.search(r"compared with 2026-11-09 \W 2026-11-09", page.text)
    rows = table_rows(page.text)
    # Step, users, users before, conversion, conversion before, …
    assert [int(row[1]) for row in rows] == [s["users"] for s in api["steps"]]
    assert [int(row[2]) for row in rows] == [s["users"] for s in before]
    assert [row[4] for row in rows] == [f"{s['conversion'] * 100:.1f} %" for s in before]
    figure = json.loads(re.search(r'id="funnel-figure">(.*?)</script>', page.text, re.S).group(1))
    [faint] = [trace for trace in figure["data"] if trace["meta"] == "previous"]
    assert faint["y"] == [8, 4, 2] and figure["layout"]["barmode"] == "group"

    # The export holds the same figures as the API's, the previous range's included.
    exported = admin.get("/dashboard/funnels/export", params={**compared, "format": "csv"})
    client = Client(server.url, make_token(scope="analytics:read"))
    table = client.get("/api/analytics/reports/funnel", params={**compared, "format": "csv"})
    assert exported.text == table.text
    assert exported.text.startswith("range,step,users")

    # Unchecked, the page shows the current period alone.
    plain = admin.get("/dashboard/funnels", params=QUERY)
    assert 'data-previous="users"' not in plain.text and 'id="compared"' not in plain.text


def test_the_page_needs_a_session(anonymous):
    assert anonymous.get("/dashboard/funnels", params=QUERY).status_code == 302
    assert anonymous.get("/dashboard/funnels/export", params=QUERY).status_code == 302

"""The breakdown report against a brute-force oracle: by type, source and payload key, with
the other and null rows, filters and limits, in UTC and a zone with daylight saving."""

import csv
import io
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import openpyxl
import pytest

import report_oracle as oracle
from dataset import FIRST_DAY, Row, generate, store
from helpers import Client, make_token

READ = make_token(scope="analytics:read")
PATH = "/api/analytics/reports/breakdown"
START, END = date(2026, 10, 25), date(2026, 11, 7)


@pytest.fixture(scope="module")
def rows():
    rows = generate(users=60)
    extra = [
        ({"page": "/", "score": 90, "passed": True}, "course_complete"),
        ({"page": "/", "score": 75.5, "passed": False}, "course_complete"),
        ({"page": "<script>alert(1)</script>", "plan": ""}, "button_click"),
        ({"page": "/ünïcode", "plan": "Pro"}, "button_click"),
        ({"page": "/Zebra", "plan": "pro"}, "button_click"),
        ({"page": "=cmd|' /C calc'!A0", "plan": "-1"}, "button_click"),
    ]
    moment = datetime(2026, 11, 1, 12, tzinfo=UTC)
    for n, (payload, kind) in enumerate(extra * 3):
        rows.append(Row(moment + timedelta(minutes=n), f"extra-{n % 4}", kind, "web_app", payload))
    return rows


@pytest.fixture
def client(app, serve, rows):
    with app.app_context():
        store(rows)
    return Client(serve(app).url, READ)


def span(tz):
    zone = ZoneInfo(tz)
    lo = datetime.combine(START, datetime.min.time(), tzinfo=zone)
    hi = datetime.combine(END + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    return lo.astimezone(UTC), hi.astimezone(UTC)


def guarded(value):
    return "'" + value if value and value[0] in "=+-@\t\r" else value


def value_of(by):
    if by in ("type", "src"):
        return lambda row: getattr(row, by)
    key = by.removeprefix("payload.")
    return lambda row: oracle.as_text(row.payload.get(key))


@pytest.mark.parametrize("tz", ["UTC", "America/New_York"])
@pytest.mark.parametrize(
    ("by", "limit"),
    [
        ("type", 20),
        ("type", 2),
        ("src", 20),
        ("src", 1),
        ("payload.page", 3),
        ("payload.page", 1000),
        ("payload.score", 20),
        ("payload.passed", 20),
        ("payload.plan", 2),
        ("payload.session_id", 5),
    ],
)
def test_breakdowns_match_the_oracle(client, rows, tz, by, limit):
    params = {"by": by, "limit": limit, "start": START, "end": END, "tz": tz}
    response = client.get(PATH, params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["rows"] == oracle.breakdown(rows, value_of(by), limit, *span(tz))
    assert (body["by"], body["timezone"], body["start"]) == (by, tz, START.isoformat())


@pytest.mark.parametrize(
    "filters", [{"type": "button_click"}, {"src": "ios_app"}, {"user_id": "user-007"}]
)
def test_filters_narrow_the_events_broken_down(client, rows, filters):
    [(name, value)] = filters.items()
    kept = [row for row in rows if getattr(row, name) == value]
    params = {"by": "payload.page", "start": START, "end": END, "tz": "UTC", **filters}
    body = client.get(PATH, params=params).json()
    assert body["rows"] == oracle.breakdown(kept, value_of("payload.page"), 20, *span("UTC"))


def test_the_default_limit_is_20(client, rows):
    params = {"by": "payload.session_id", "start": START, "end": END, "tz": "UTC"}
    body = client.get(PATH, params=params).json()
    assert [row["value"] for row in body["rows"][20:]] == ["other", None]  # edge rows: none
    assert body["rows"] == oracle.breakdown(rows, value_of("payload.session_id"), 20, *span("UTC"))


def test_an_empty_range_has_no_rows(client):
    before = FIRST_DAY - timedelta(days=2)  # the data's first event is a moment before it
    params = {"by": "type", "start": before - timedelta(days=7), "end": before}
    assert client.get(PATH, params=params).json()["rows"] == []


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({}, "by"),
        ({"by": "user"}, "by"),
        ({"by": "payload."}, "by"),
        ({"by": 'payload.a"b'}, "by"),
        ({"by": "type", "limit": 0}, "limit"),
        ({"by": "type", "limit": 1001}, "limit"),
        ({"by": "type", "sort": "events"}, "sort"),
    ],
)
def test_bad_breakdown_parameters_are_422_naming_them(client, params, named):
    response = client.get(PATH, params=params)
    assert response.status_code == 422, response.text
    assert list(response.json()["errors"]["query"]) == [named]


@pytest.mark.parametrize("export_format", ["csv", "xlsx"])
def test_csv_and_excel_hold_the_same_rows_as_the_json(client, export_format):
    params = {"by": "payload.plan", "limit": 3, "start": START, "end": END, "tz": "UTC"}
    body = client.get(PATH, params=params).json()
    assert "-1" in [row["value"] for row in body["rows"]]
    answer = client.get(PATH, params={**params, "format": export_format})
    assert answer.status_code == 200
    assert "breakdown_2026-10-25_2026-11-07" in answer.headers["Content-Disposition"]
    # A table cell cannot tell an empty text from none: both are empty.
    expected = [[row["value"] or None, row["events"], row["users"]] for row in body["rows"]]
    if export_format == "csv":
        table = list(csv.reader(io.StringIO(answer.text)))
        got = [[value or None, int(events), int(users)] for value, events, users in table[1:]]
        # A spreadsheet would run text starting with -, =, +, @ as a formula: it is guarded.
        expected = [[guarded(value), *rest] for value, *rest in expected]
    else:
        sheet = openpyxl.load_workbook(io.BytesIO(answer.content)).active
        table = [[cell.value for cell in row] for row in sheet.iter_rows()]
        got = table[1:]
    assert table[0] == ["payload.plan", "events", "users"]
    assert got == expected

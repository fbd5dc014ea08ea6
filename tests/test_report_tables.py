"""Every report answers format=csv|xlsx with the same figures as its JSON, as a table."""

import csv
import io
from datetime import UTC, date, datetime, timedelta

import openpyxl
import pytest

from helpers import Client, make_event, make_token

READ = make_token(scope="analytics:read")
TODAY = datetime.now(UTC).date()
START = TODAY - timedelta(days=3)
RANGE = {"start": START, "end": TODAY, "tz": "UTC"}


@pytest.fixture
def client(app, serve):
    client = Client(serve(app).url, READ)
    events = [
        make_event(
            ts=(datetime.combine(TODAY - timedelta(days=n), datetime.min.time(), tzinfo=UTC))
            .replace(hour=1 + u)
            .isoformat(),
            user_id=f"user-{u}",
            src="=cmd" if u == 0 else "web_app",
            payload={"page": f"/page-{u}", "session_id": f"s-{n}-{u}"},
        )
        for n in range(6)
        for u in range(n % 3 + 1)
    ]
    assert client.ingest(events).status_code == 200
    return client


def fetch(client, path, **params):
    response = client.get(f"/api/analytics/reports/{path}", params=params)
    assert response.status_code == 200, response.text
    return response


def csv_table(client, path, **params):
    response = fetch(client, path, format="csv", **params)
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-store"
    return list(csv.reader(io.StringIO(response.content.decode(), newline="")))


def xlsx_table(client, path, **params):
    response = fetch(client, path, format="xlsx", **params)
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).worksheets[0]
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def as_text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def expected_rows(path, body):
    """The figures of a JSON answer, row by row, as the table should hold them."""
    if path == "engagement":
        return [
            ["events", None, body["events"]],
            ["users", None, body["users"]],
            ["events_per_user", None, body["events_per_user"]],
            ["sessions", None, body["sessions"]["count"]],
            ["session_average_seconds", None, body["sessions"]["average_seconds"]],
            *(["events_by_type", k, v] for k, v in body["by_type"].items()),
            *(["events_by_source", k, v] for k, v in body["by_source"].items()),
            *(["page_views", p["page"], p["views"]] for p in body["top_pages"]),
        ]
    if path == "retention":
        return [
            [c["date"], c["new_users"]]
            + [c[f"day_{n}"][f] for n in (1, 7, 30) for f in ("users", "rate")]
            for c in body["cohorts"]
        ]
    if path == "funnel":
        names = ("step", "users", "conversion", "step_conversion", "median_seconds_from_previous")
        return [[step[n] for n in names] for step in body["steps"]]
    if path == "breakdown":
        return [[row["value"], row["events"], row["users"]] for row in body["rows"]]
    if "series" not in body:
        return [[body["date"], body["dau"], body["period"], body["timezone"]]]
    if path == "dau":
        return [[p["date"], p["dau"], p["period"], p["complete"]] for p in body["series"]]
    names = ("dau", "wau", "mau", "stickiness")
    return [[p["date"], p["period"], p["complete"], *(p[n] for n in names)] for p in body["series"]]


CASES = [
    ("dau", {"date": TODAY - timedelta(days=1), "tz": "UTC"}),
    ("dau", RANGE),
    ("active-users", RANGE),
    ("engagement", RANGE),
    ("retention", RANGE),
    ("funnel", {**RANGE, "step": ["page_view", "page_view"], "window": "3d"}),
    ("breakdown", {**RANGE, "by": "payload.page"}),
]


@pytest.mark.parametrize(("path", "params"), CASES)
def test_csv_holds_the_same_figures_as_the_json(client, path, params):
    body = fetch(client, path, **params).json()
    table = csv_table(client, path, formula_guard="false", **params)
    assert table[1:] == [[as_text(v) for v in row] for row in expected_rows(path, body)]


@pytest.mark.parametrize(("path", "params"), CASES)
def test_excel_holds_the_same_figures_as_the_json_with_real_dates(client, path, params):
    body = fetch(client, path, **params).json()
    rows = xlsx_table(client, path, **params)
    assert rows[0] == csv_table(client, path, **params)[0]
    expected = expected_rows(path, body)
    if path in ("dau", "active-users", "retention"):  # date columns are dates
        for row in expected:
            row[0] = datetime.combine(date.fromisoformat(row[0]), datetime.min.time())
    assert rows[1:] == expected


def test_compare_previous_tables_say_which_range_a_row_belongs_to(client):
    body = fetch(client, "dau", compare="previous", **RANGE).json()
    table = csv_table(client, "dau", compare="previous", **RANGE)
    assert table[0] == ["range", "date", "dau", "period", "complete"]
    assert [row[0] for row in table[1:]] == ["current"] * 4 + ["previous"] * 4
    assert [row[1:] for row in table[5:]] == [
        [as_text(v) for v in row] for row in expected_rows("dau", body["previous"])
    ]


@pytest.mark.parametrize(("path", "params"), CASES[-2:])
def test_funnels_and_breakdowns_compare_with_the_previous_range(client, path, params):
    body = fetch(client, path, compare="previous", **params).json()
    earlier = {"start": START - timedelta(days=4), "end": START - timedelta(days=1)}
    assert body["previous"] == fetch(client, path, **{**params, **earlier}).json()


def test_report_csv_guards_formulas_unless_told_not_to(client):
    guarded = csv_table(client, "engagement", **RANGE)
    assert ["events_by_source", "'=cmd"] in [row[:2] for row in guarded]
    raw = csv_table(client, "engagement", formula_guard="false", **RANGE)
    assert ["events_by_source", "=cmd"] in [row[:2] for row in raw]
    rows = xlsx_table(client, "engagement", **RANGE)
    assert ["events_by_source", "=cmd"] in [row[:2] for row in rows]


def test_a_report_file_is_named_for_its_report_and_range(client):
    response = fetch(client, "active-users", format="xlsx", **RANGE)
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="active-users_{START}_{TODAY}.xlsx"'
    )


@pytest.mark.parametrize("params", [{"format": "pdf"}, {"format": "json"}, {"formula_guard": "x"}])
def test_a_bad_format_is_a_422_naming_it(client, params):
    response = client.get("/api/analytics/reports/engagement", params=params)
    assert response.status_code == 422
    assert list(response.json()["errors"]["query"]) == list(params)

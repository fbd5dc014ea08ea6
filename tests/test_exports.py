"""Direct exports: CSV and Excel with exact filters, neutralised formulas, exact Unicode, sheet
rollover, Excel's row limit for a direct download, and authorisation. Export jobs are in
test_export_jobs.py."""

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta

import openpyxl
import pytest

from analytics_app.exports import xlsx

from dataset import Expected, Row, generate, store
from helpers import Client, make_token

READ = make_token(scope="analytics:read")
EXPORT = "/api/analytics/reports/events"


@pytest.fixture(scope="module")
def rows():
    return generate(users=40)


@pytest.fixture
def app(make_app, rows):
    return make_app(rows)


@pytest.fixture
def client(app, serve):
    return Client(serve(app).url, READ)


def read_csv(response):
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert b"\r\n" in response.content and b"\n" not in response.content.replace(b"\r\n", b"")
    return list(csv.reader(io.StringIO(response.content.decode("utf-8"), newline="")))


def read_xlsx(content):
    workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    return [[list(r) for r in sheet.iter_rows(values_only=True)] for sheet in workbook.worksheets]


def expected_rows(rows, start, end, **filters):
    return Expected(rows, "UTC").in_range(start, end, **filters)


@pytest.mark.parametrize(
    "filters", [{}, {"type": "video_play"}, {"src": "ios_app"}, {"user_id": "user-003"}]
)
def test_csv_export_holds_exactly_the_filtered_events(client, rows, filters):
    start, end = date(2026, 10, 25), date(2026, 11, 2)
    response = client.get(EXPORT, params={"start": start, "end": end, **filters})
    table = read_csv(response)
    assert table[0] == ["id", "ts", "user_id", "type", "src", "payload"]
    expected = expected_rows(rows, start, end, **filters)
    assert len(table) - 1 == len(expected)
    got = sorted((r[1], r[2], r[3], r[4], json.loads(r[5])) for r in table[1:])
    want = sorted(
        (
            e.ts.isoformat(timespec="microseconds"),
            e.user_id,
            e.type,
            e.src or "",
            e.payload,
        )
        for e in expected
    )
    assert got == want
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="events_2026-10-25_2026-11-02.csv"'
    )


def test_xlsx_export_matches_the_csv_export(client):
    params = {"start": "2026-10-20", "end": "2026-10-31", "src": "web_app"}
    table = read_csv(client.get(EXPORT, params=params))
    response = client.get(EXPORT, params={**params, "format": "xlsx"})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert 'filename="events_2026-10-20_2026-10-31.xlsx"' in response.headers["Content-Disposition"]
    [sheet] = read_xlsx(response.content)
    assert sheet[0] == ["id", "ts (UTC)", *table[0][2:]]
    for cells, line in zip(sheet[1:], table[1:], strict=True):
        moment = datetime.fromisoformat(line[1]).replace(tzinfo=None)
        assert abs(cells[1] - moment) < timedelta(milliseconds=1)  # Excel keeps milliseconds
        cells = [str(c) if c is not None else "" for c in cells]
        assert cells[:1] + cells[2:] == line[:1] + line[2:]


def test_without_a_range_every_event_is_exported(client, rows):
    response = client.get(EXPORT)
    assert len(read_csv(response)) - 1 == len(rows)
    assert 'filename="events_all.csv"' in response.headers["Content-Disposition"]


def test_range_days_are_local_days_in_the_given_zone(client, rows):
    day = date(2026, 11, 1)
    response = client.get(EXPORT, params={"start": day, "end": day, "tz": "America/New_York"})
    assert len(read_csv(response)) - 1 == len(Expected(rows, "America/New_York").in_range(day, day))


def test_formula_cells_are_neutralised_in_csv_and_typed_as_text_in_excel(make_app, serve):
    app = make_app()
    dangerous = ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tTAB", "\rCR"]
    now = datetime.now(UTC) - timedelta(hours=1)
    with app.app_context():  # straight to the writer: ingest itself refuses tab and CR
        store([Row(now, value, "page_view", value, {"x": value}) for value in dangerous])
    client = Client(serve(app).url, READ)
    table = read_csv(client.get(EXPORT, params={"columns": "payload.x"}))
    users = sorted(row[2] for row in table[1:])
    assert users == sorted("'" + value for value in dangerous)
    assert sorted(row[4] for row in table[1:]) == users
    assert sorted(row[6] for row in table[1:]) == users
    assert all(row[5].startswith("{") for row in table[1:])
    raw = read_csv(client.get(EXPORT, params={"formula_guard": "false"}))
    assert sorted(row[2] for row in raw[1:]) == sorted(dangerous)

    response = client.get(EXPORT, params={"format": "xlsx", "columns": "payload.x"})
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).worksheets[0]
    cells = [row for row in sheet.iter_rows(min_row=2)]
    # XML turns a stored CR into LF when read back.
    exact = sorted(value.replace("\r", "\n") for value in dangerous)
    for column in (2, 4, 6):
        assert sorted(row[column].value for row in cells) == exact
        assert {row[column].data_type for row in cells} == {"s"}


def test_unicode_round_trips_exactly(make_app, serve):
    app = make_app()
    client = Client(serve(app).url, make_token(scope="analytics:read"))
    payload = {"title": "Ünïcödé — 日本語 😀 \u2028", "quote": 'say "hi", ok'}
    from helpers import make_event

    assert client.ingest([make_event(user_id="usér-ß-😀", payload=payload)]).status_code == 200
    table = read_csv(client.get(EXPORT))
    assert table[1][2] == "usér-ß-😀"
    assert json.loads(table[1][5]) == payload
    [sheet] = read_xlsx(client.get(EXPORT, params={"format": "xlsx"}).content)
    assert sheet[1][2] == "usér-ß-😀"
    assert json.loads(sheet[1][5]) == payload


def test_excel_rows_past_a_sheet_continue_on_new_sheets_with_headers():
    target = io.BytesIO()
    data = [(n, f"t{n}", f"u{n}", "page_view", None, "{}") for n in range(12)]
    assert xlsx.write(iter(data), target, sheet_rows=5) == 12
    sheets = read_xlsx(target.getvalue())
    assert [len(s) for s in sheets] == [5, 5, 5]
    assert all(s[0] == ["id", "ts", "user_id", "type", "src", "payload"] for s in sheets)
    assert [row[0] for s in sheets for row in s[1:]] == list(range(12))
    assert openpyxl.load_workbook(io.BytesIO(target.getvalue())).sheetnames == [
        "events",
        "events (2)",
        "events (3)",
    ]


def test_excel_cells_are_cut_to_excels_limit():
    target = io.BytesIO()
    xlsx.write(iter([(1, "t", "u", "page_view", None, "x" * 40_000)]), target)
    [sheet] = read_xlsx(target.getvalue())
    assert len(sheet[1][5]) == xlsx.CELL_CHARS
    assert sheet[1][5].endswith(xlsx.TRUNCATED)


def test_an_empty_export_is_a_header_only_file(make_app, serve):
    client = Client(serve(make_app()).url, READ)
    assert read_csv(client.get(EXPORT)) == [["id", "ts", "user_id", "type", "src", "payload"]]
    assert read_xlsx(client.get(EXPORT, params={"format": "xlsx"}).content) == [
        [["id", "ts (UTC)", "user_id", "type", "src", "payload"]]
    ]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", EXPORT),
        ("POST", "/api/analytics/exports"),
        ("GET", "/api/analytics/exports/AAAAAAAAAAAAAAAAAAAAAA"),
    ],
)
def test_every_export_route_needs_the_read_scope(client, method, path):
    kwargs = {"json": {"format": "csv"}} if method == "POST" else {}
    assert client.request(method, path, token=None, **kwargs).status_code == 401
    assert client.request(method, path, token=make_token(), **kwargs).status_code == 403


@pytest.mark.parametrize(
    "params",
    [
        {"format": "pdf"},
        {"start": "2026-11-01"},
        {"tz": "Nowhere/City"},
        {"start": "x", "end": "y"},
        {"start": "0001-01-01", "end": "0001-01-02"},
        {"start": "2026-11-01", "end": "9999-12-31"},
        {"src": "web\x00app"},
        {"user_id": "\x00"},
        {"type": "page_view\x00"},
    ],
)
def test_bad_export_requests_are_422(client, params):
    response = client.get(EXPORT, params=params)
    assert response.status_code == 422
    assert response.json()["code"] == 422
    assert client.post("/api/analytics/exports", json=params).status_code == 422


def test_direct_downloads_are_not_stored_by_any_cache(client):
    for export_format in ("csv", "xlsx"):
        response = client.get(EXPORT, params={"format": export_format})
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "no-store", export_format


def test_an_excel_export_past_the_direct_limit_is_413_pointing_at_the_job_endpoint(
    make_app, serve, rows
):
    app = make_app(rows, EXPORT_DIRECT_XLSX_ROWS="100")
    client = Client(serve(app).url, READ)
    day = date(2026, 11, 1)
    small = Expected(rows, "UTC").in_range(day, day)
    assert 0 < len(small) <= 100 < len(rows)

    refused = client.get(EXPORT, params={"format": "xlsx"})
    assert refused.status_code == 413
    body = refused.json()
    assert body["code"] == 413
    assert body["errors"] == {"max_rows": 100, "jobs_url": "/api/analytics/exports"}
    assert "POST /api/analytics/exports" in body["message"]

    # Following the pointer: the same parameters, as a job, make the whole file.
    job = client.post(body["errors"]["jobs_url"], json={"format": "xlsx"}).json()
    job = client.get(job["status_url"]).json()
    [sheet] = read_xlsx(client.get(job["download_url"], token=None).content)
    assert len(sheet) - 1 == len(rows)

    # Within the limit, and CSV of any size, still download at once.
    within = client.get(EXPORT, params={"format": "xlsx", "start": day, "end": day})
    assert within.status_code == 200
    assert len(read_xlsx(within.content)[0]) - 1 == len(small)
    assert len(read_csv(client.get(EXPORT))) - 1 == len(rows)


def test_the_direct_limit_is_exact(make_app, serve):
    now = datetime.now(UTC) - timedelta(hours=1)
    app = make_app(EXPORT_DIRECT_XLSX_ROWS="3")
    with app.app_context():
        store([Row(now, f"u{n}", "page_view", None, {}) for n in range(3)])
    client = Client(serve(app).url, READ)
    assert client.get(EXPORT, params={"format": "xlsx"}).status_code == 200
    with app.app_context():
        store([Row(now, "u4", "page_view", None, {})])
    assert client.get(EXPORT, params={"format": "xlsx"}).status_code == 413

"""Exports an analyst opens without cleaning: times in the requested zone, exact text in Excel,
payload keys in columns of their own; read back with csv, openpyxl and LibreOffice."""

import csv
import io
import json
import shutil
import subprocess
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from dataset import Row, store
from helpers import Client, make_token

READ = make_token(scope="analytics:read")
EXPORT = "/api/analytics/reports/events"
BERLIN = ZoneInfo("Europe/Berlin")
# Either side of Berlin's change from summer to winter time (25 October 2026, 01:00 UTC).
SUMMER = datetime(2026, 10, 24, 22, 30, 0, 250000, tzinfo=UTC)
WINTER = datetime(2026, 10, 25, 12, 0, 0, tzinfo=UTC)
PAYLOAD = {"page": "/pricing", "plan": 3, "trial": True, "meta": {"a": [1]}}
TEXTS = ["=1+1", "-123", "00123", "+49 30 1234", "@home"]


@pytest.fixture
def app(make_app):
    app = make_app()
    with app.app_context():
        store(
            [
                Row(SUMMER, "summer", "page_view", "web_app", PAYLOAD),
                Row(WINTER, "winter", "page_view", None, {"page": "/"}),
                *(Row(WINTER, text, "button_click", text, {"plan": text}) for text in TEXTS),
            ]
        )
    return app


@pytest.fixture
def client(app, serve):
    return Client(serve(app).url, READ)


def export(client, **params):
    response = client.get(EXPORT, params=params)
    assert response.status_code == 200, response.text
    return response


def csv_rows(client, **params):
    text = export(client, format="csv", **params).content.decode("utf-8")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def sheet(client, **params):
    content = export(client, format="xlsx", **params).content
    return openpyxl.load_workbook(io.BytesIO(content)).worksheets[0]


def test_csv_times_carry_the_requested_zones_offset_of_their_moment(client):
    rows = csv_rows(client, tz="Europe/Berlin", user_id="summer")
    rows += csv_rows(client, tz="Europe/Berlin", user_id="winter")
    assert [row["ts"] for row in rows] == [
        "2026-10-25T00:30:00.250000+02:00",
        "2026-10-25T13:00:00.000000+01:00",
    ]
    assert [datetime.fromisoformat(row["ts"]) for row in rows] == [SUMMER, WINTER]
    [utc] = csv_rows(client, user_id="winter")
    assert utc["ts"] == "2026-10-25T12:00:00.000000+00:00"


def test_excel_times_are_date_time_cells_in_the_zone_its_header_names(client):
    rows = sheet(client, tz="Europe/Berlin", src="web_app")
    header = [cell.value for cell in rows[1]]
    assert header[1] == "ts (Europe/Berlin)"
    [cell] = [row[1] for row in rows.iter_rows(min_row=2)]
    assert cell.is_date
    assert cell.value == SUMMER.astimezone(BERLIN).replace(tzinfo=None, microsecond=250000)


def test_excel_text_is_exact_and_typed_as_text_with_no_apostrophe(client):
    rows = list(sheet(client, type="button_click").iter_rows(min_row=2))
    assert sorted(row[2].value for row in rows) == sorted(TEXTS)
    assert sorted(row[4].value for row in rows) == sorted(TEXTS)
    assert {row[2].data_type for row in rows} == {"s"}


def test_csv_guard_is_on_by_default_and_off_for_programs(client):
    guarded = sorted(row["user_id"] for row in csv_rows(client, type="button_click"))
    assert guarded == sorted("'" + t if t[0] in "=+-@" else t for t in TEXTS)
    raw = csv_rows(client, type="button_click", formula_guard="false")
    assert sorted(row["user_id"] for row in raw) == sorted(TEXTS)


def test_payload_keys_get_columns_of_their_own(client):
    columns = "payload.page,payload.plan,payload.trial,payload.meta,payload.missing"
    [row] = csv_rows(client, user_id="summer", columns=columns)
    assert list(row)[-5:] == columns.split(",")
    assert (row["payload.page"], row["payload.plan"], row["payload.trial"]) == (
        "/pricing",
        "3",
        "true",
    )
    assert (json.loads(row["payload.meta"]), row["payload.missing"]) == ({"a": [1]}, "")
    rows = sheet(client, user_id="summer", columns=columns)
    assert [cell.value for cell in rows[1]][-5:] == columns.split(",")
    assert [cell.value for cell in rows[2]][-5:] == ["/pricing", 3, True, '{"a": [1]}', None]


@pytest.mark.parametrize(
    "columns",
    ["page", "payload.", "payload.a b", "payload.x,,payload.y", ",".join(["payload.k"] * 21)],
)
def test_bad_columns_are_a_422_naming_columns(client, columns):
    response = client.get(EXPORT, params={"columns": columns})
    assert response.status_code == 422
    assert list(response.json()["errors"]["query"]) == ["columns"]


def test_an_export_job_keeps_the_zone_columns_and_guard(client):
    params = {
        "format": "csv",
        "tz": "Europe/Berlin",
        "columns": "payload.plan",
        "formula_guard": False,
        "type": "button_click",
    }
    job = client.post("/api/analytics/exports", json=params)
    assert job.status_code == 202, job.text
    status = client.get(job.json()["status_url"]).json()
    assert status["status"] == "done"
    file = client.get(status["download_url"])
    direct = export(client, **{**params, "formula_guard": "false"})
    assert file.content == direct.content
    assert b"+01:00" in file.content and b"payload.plan" in file.content


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_libreoffice_opens_the_excel_file_and_runs_no_text(client, tmp_path):
    source = tmp_path / "events.xlsx"
    source.write_bytes(export(client, format="xlsx", tz="Europe/Berlin").content)
    profile = f"-env:UserInstallation=file://{tmp_path}/profile"
    convert = ["--convert-to", "csv", "--outdir", str(tmp_path), str(source)]
    subprocess.run(
        ["soffice", profile, "--headless", *convert],
        check=True,
        capture_output=True,
        timeout=120,
    )
    rows = list(csv.reader((tmp_path / "events.csv").read_text().splitlines()))
    assert rows[0][1] == "ts (Europe/Berlin)"
    assert sorted(row[2] for row in rows[1:] if row[3] == "button_click") == sorted(TEXTS)
    summer = next(row for row in rows if row[2] == "summer")
    assert summer[1].startswith("2026-10-25 00:30:00")

"""Export jobs over the API: files that match the direct export, ids no one can guess, jobs
seen by their requester and admins alone, expiry at once, private files, and a bound on the
jobs a requester runs at once."""

import io
import re
import stat
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest

from analytics_app.exports import jobs
from analytics_app.exports.access import Requester
from analytics_app.exports.request import ExportRequest
from analytics_app.extensions import db
from analytics_app.reports.periods import zone
from analytics_app.reports.range import ReportRange

from dataset import generate
from helpers import Client, make_token, query

EXPORTS = "/api/analytics/exports"
EXPORT = "/api/analytics/reports/events"
PUBLIC_ID = re.compile(r"[A-Za-z0-9_-]{22}")
RANGE = {"start": "2026-10-22", "end": "2026-11-04"}


@pytest.fixture(scope="module")
def rows():
    return generate(users=20)


@pytest.fixture
def app(make_app, rows):
    return make_app(rows)


@pytest.fixture
def server(app, serve):
    return serve(app)


def reader(server, sub="analyst", scope="analytics:read"):
    return Client(server.url, make_token(sub=sub, scope=scope))


@pytest.fixture
def client(server):
    return reader(server)


def finished_job(client, **params):
    """Start a job (HUEY_IMMEDIATE: it runs inline) and return its status answer."""
    created = client.post(EXPORTS, json={"format": "csv", **RANGE, **params})
    assert created.status_code == 202, created.text
    return client.get(created.json()["status_url"]).json()


def pending_job(app, requester):
    """Record a job as a request does, without running it; return its public id."""
    days = ReportRange(zone("UTC"), date(2026, 10, 25), date(2026, 10, 26))
    with app.app_context():
        return jobs.create(ExportRequest("csv", days), requester).public_id


def run_job(app, public_id):
    [(job_id,)] = query(app, "SELECT id FROM export_jobs WHERE public_id = :p", p=public_id)
    with app.app_context():
        jobs.run(job_id)


def set_job(app, public_id, **values):
    with app.app_context():
        assignments = ", ".join(f"{name} = :{name}" for name in values)
        db.session.execute(
            db.text(f"UPDATE export_jobs SET {assignments} WHERE public_id = :public_id"),
            {**values, "public_id": public_id},
        )
        db.session.commit()


def read_xlsx(content):
    workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    return [[list(r) for r in sheet.iter_rows(values_only=True)] for sheet in workbook.worksheets]


@pytest.mark.parametrize("export_format", ["csv", "xlsx"])
def test_an_export_job_runs_to_completion_and_matches_the_direct_export(client, export_format):
    params = {"format": export_format, **RANGE, "type": "page_view"}
    job = finished_job(client, **params)
    assert job["status"] == "done"
    assert job["rows_written"] == job["rows_total"] > 0
    download = client.get(job["download_url"], token=None)
    assert download.status_code == 200
    direct = client.get(EXPORT, params=params)
    if export_format == "csv":
        assert download.content == direct.content
    else:
        assert read_xlsx(download.content) == read_xlsx(direct.content)
    assert "filename=events_2026-10-22_2026-11-04." in download.headers["Content-Disposition"]


def test_job_ids_are_random_and_every_address_uses_them(app, client):
    first, second = finished_job(client), finished_job(client)
    for job in (first, second):
        assert PUBLIC_ID.fullmatch(job["id"]), job["id"]
        assert job["status_url"] == f"{EXPORTS}/{job['id']}"
        assert job["download_url"].startswith(f"{EXPORTS}/{job['id']}/download?signature=")
    assert first["id"] != second["id"]
    [(database_id,)] = query(app, "SELECT id FROM export_jobs WHERE public_id = :p", p=first["id"])
    for guess in (str(database_id), f"{database_id}/download", "1", "99999999999999999999999"):
        assert client.get(f"{EXPORTS}/{guess}").status_code == 404, guess


def test_a_job_is_seen_by_its_requester_and_admins_and_by_no_one_else(server, client):
    job = finished_job(client)
    status, file = job["status_url"], job["status_url"] + "/download"
    same_subject = reader(server, sub="analyst")  # another token of the same subject
    admin = reader(server, sub="ops", scope="analytics:admin")
    stranger = reader(server, sub="someone-else")

    for who in (client, same_subject, admin):
        assert who.get(status).json()["id"] == job["id"]
        assert who.get(file).status_code == 200
    for path in (status, file):
        response = stranger.get(path)
        assert response.status_code == 404, path  # not 403: its existence is not revealed
        assert response.json()["message"] == "no such export job"
    assert stranger.get(f"{EXPORTS}/AAAAAAAAAAAAAAAAAAAAAA").json() == stranger.get(status).json()


def test_download_links_are_authorised(server, client):
    job, other = finished_job(client), finished_job(client, type="video_play")
    bare = job["download_url"].split("?")[0]
    assert client.get(bare, token=None).status_code == 401
    assert client.get(bare + "?signature=forged", token=None).status_code == 401
    assert client.get(bare, token=make_token(sub="analyst")).status_code == 403  # no read scope
    assert client.get(bare).status_code == 200
    # One job's signature opens no other job.
    signature = other["download_url"].split("?")[1]
    assert client.get(f"{bare}?{signature}", token=None).status_code == 401
    assert reader(server, sub="someone-else").get(f"{bare}?{signature}").status_code == 404


def test_an_expired_job_is_410_at_once_before_the_cleanup_deletes_it(app, client):
    job = finished_job(client)
    link, by_token = job["download_url"], job["status_url"] + "/download"
    assert client.get(link, token=None).status_code == 200
    set_job(app, job["id"], expires_at=datetime.now(UTC) - timedelta(seconds=1))

    for response in (client.get(link, token=None), client.get(by_token)):
        assert response.status_code == 410
        assert response.json()["message"] == "this export has expired; export again"
    seen = client.get(job["status_url"]).json()
    assert (seen["status"], seen["download_url"]) == ("expired", None)

    with app.app_context():
        assert app.extensions["tasks"].cleanup().get()["exports"] == 1
    assert query(app, "SELECT status FROM export_jobs") == [("expired",)]
    assert client.get(link, token=None).status_code == 410
    assert list(Path(app.config["EXPORT_DIR"]).iterdir()) == []


def test_job_downloads_are_no_store_and_files_are_private(app, client):
    job = finished_job(client)
    download = client.get(job["download_url"], token=None)
    assert download.headers["Cache-Control"] == "no-store"
    assert "ETag" not in download.headers
    [path] = Path(app.config["EXPORT_DIR"]).iterdir()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_a_requester_has_a_bounded_number_of_jobs_at_once(app, server, client):
    limit = app.config["EXPORT_CONCURRENT_JOBS"]
    waiting = [pending_job(app, Requester.token("analyst", False)) for _ in range(limit)]

    refused = client.post(EXPORTS, json={"format": "csv"})
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert f"{limit} of your exports are still being prepared" in refused.json()["message"]
    assert len(query(app, "SELECT id FROM export_jobs")) == limit  # nothing recorded

    # Someone else is not held up; the requester is, until one of theirs ends.
    assert reader(server, sub="colleague").post(EXPORTS, json={"format": "csv"}).status_code == 202
    run_job(app, waiting[0])
    assert client.post(EXPORTS, json={"format": "csv"}).status_code == 202

    # A job stuck longer than a file lives (its worker died mid-run) no longer counts.
    pending_job(app, Requester.token("analyst", False))
    assert client.post(EXPORTS, json={"format": "csv"}).status_code == 429
    set_job(app, waiting[1], status="running", created_at=datetime.now(UTC) - timedelta(days=2))
    assert client.post(EXPORTS, json={"format": "csv"}).status_code == 202


def test_racing_requests_never_pass_the_bound(app):
    limit = app.config["EXPORT_CONCURRENT_JOBS"]
    outcomes = []

    def create():
        try:
            pending_job(app, Requester.token("racer", False))
            outcomes.append("created")
        except jobs.TooManyExportJobsError:
            outcomes.append("refused")

    threads = [threading.Thread(target=create) for _ in range(3 * limit)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["created"] * limit + ["refused"] * (2 * limit)
    assert query(app, "SELECT count(*) FROM export_jobs") == [(limit,)]

"""Logs: one JSON object per line from every process (web, worker, CLI, development server),
each with an ISO 8601 UTC time; no secrets, and the worker's task runs and failures."""

import json
import re
import subprocess
import sys
import time

import pytest
import requests

from analytics_app import ROOT

from helpers import Client, make_event, make_token
from processes import free_port, gunicorn, process_env, wait_for, worker

ISO_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")


def json_lines(text):
    """Every non-empty line as JSON (failing on any other), each with an ISO 8601 UTC time."""
    records = []
    for line in text.splitlines():
        if line.strip():
            record = json.loads(line)
            assert ISO_UTC.fullmatch(record["time"]), line
            records.append(record)
    return records


def wait_until(predicate, timeout=30):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_gunicorn_logs_json_lines_with_request_id_and_subject_and_no_secrets(backend, tmp_path):
    if backend["name"] != "postgresql":
        pytest.skip("the production command runs with PostgreSQL + Redis")
    log = tmp_path / "gunicorn.log"
    token = make_token(sub="log-checker")
    with gunicorn(backend, log, workers=2) as (url, _):
        response = Client(url, token).ingest(
            [make_event(payload={"card": "4111-1111-1111-1111"})],
            headers={"X-Request-ID": "trace-me-1"},
        )
        assert response.status_code == 200
        time.sleep(0.5)
    records = json_lines(log.read_text())
    assert any(r["logger"] == "gunicorn.error" and "Booting" in r["message"] for r in records)
    mine = [r for r in records if r.get("request_id") == "trace-me-1"]
    assert mine and all(r["subject"] == "log-checker" for r in mine)
    # One line per request: the app's, none from gunicorn's access log.
    assert [r["path"] for r in mine if r["logger"] == "analytics_app.access"] == [
        "/api/analytics/ingest"
    ]
    assert not [r for r in records if r["logger"] == "gunicorn.access"]
    assert "4111-1111" not in log.read_text() and token not in log.read_text()


def test_the_worker_logs_its_start_each_task_run_and_failures(make_app, serve, backend, tmp_path):
    app = make_app(HUEY_IMMEDIATE="false")
    huey = app.extensions["huey"]
    huey.flush()
    reader = Client(serve(app).url, make_token(scope="analytics:read"))
    log = tmp_path / "worker.log"
    unwritable = tmp_path / "a-file"  # the worker cannot write export files under it
    unwritable.write_text("")

    def ran(task, outcome):
        return any(
            r.get("task") == task and r.get("outcome") == outcome
            for r in json_lines(log.read_text())
        )

    try:
        with worker(backend, log, EXPORT_DIR=str(unwritable / "exports")):
            wait_until(lambda: "worker started" in log.read_text())
            with app.app_context():
                app.extensions["tasks"].rollup()
            assert reader.post("/api/analytics/exports", json={}).status_code == 202
            wait_until(lambda: ran("rollup", "ok") and ran("export", "failed"))
    finally:
        huey.flush()  # the failed export's scheduled retry
    records = json_lines(log.read_text())
    assert any(r["message"] == "worker started" and r["threads"] == 1 for r in records)
    rollup = next(r for r in records if r.get("task") == "rollup")
    assert rollup["level"] == "INFO" and rollup["duration_ms"] >= 0
    failure = next(r for r in records if r.get("task") == "export")
    assert failure["level"] == "ERROR" and failure["duration_ms"] >= 0
    assert "Traceback" in failure["exc_info"]
    # Logged once, by the task runner: not a second time by Huey.
    assert not [r for r in records if r["message"].startswith("Unhandled exception in task")]


def test_cli_commands_log_json_lines(backend):
    env = process_env(backend, LOG_LEVEL="INFO")
    for command in (["db", "upgrade"], ["analytics", "rollup"]):
        done = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", *command],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        json_lines(done.stderr)
    assert "rolled up" in done.stdout


def test_the_development_server_logs_one_json_line_per_request(backend, tmp_path):
    port = free_port()
    log = tmp_path / "dev.log"
    env = process_env(backend, LOG_LEVEL="INFO")
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "run", "--port", str(port)]
    with log.open("w") as output:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=output)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(url + "/api/analytics/healthz")
        for _ in range(3):
            requests.get(url + "/api/analytics/healthz", timeout=5)
    finally:
        server.terminate()
        server.wait(timeout=10)
    lines = [line for line in log.read_text().splitlines() if "/api/analytics/healthz" in line]
    assert len(lines) >= 4
    assert all(json.loads(line)["logger"] == "analytics_app.access" for line in lines)

"""Prometheus metrics (summed across gunicorn workers) and structured JSON logs."""

import json
import os
import re
import socket
import subprocess
import sys
import time

import pytest
import requests

from analytics_app import ROOT

from conftest import base_env
from helpers import Client, make_event, make_token


def metric(text, name, **labels):
    """The value of one sample in Prometheus text format (0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = (
        rf"^{re.escape(name)}(?:\{{{re.escape(wanted)}\}})? ([0-9.e+]+)$"
        if wanted
        else (rf"^{re.escape(name)} ([0-9.e+]+)$")
    )
    found = re.search(pattern, text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def test_metrics_count_ingest_outcomes_and_latency(client):
    before = client.get("/metrics", token=None).text
    client.ingest([make_event(), make_event()])
    client.ingest([make_event(type="nope")])
    client.ingest([make_event()], token=None)
    after = client.get("/metrics", token=None).text
    for name, labels, delta in [
        ("analytics_ingest_events_total", {"outcome": "stored"}, 2),
        ("analytics_ingest_events_total", {"outcome": "refused"}, 1),
        ("analytics_ingest_batches_total", {"outcome": "accepted"}, 1),
        ("analytics_ingest_batches_total", {"outcome": "invalid"}, 1),
        ("analytics_ingest_batches_total", {"outcome": "unauthorized"}, 1),
    ]:
        assert metric(after, name, **labels) - metric(before, name, **labels) == delta, name
    assert "analytics_request_duration_seconds_bucket" in after
    assert 'endpoint="ingest.Ingest"' in after
    assert "analytics_ingest_batch_size_bucket" in after
    assert "analytics_task_queue_length" in after
    assert "analytics_rollup_marks_pending" in after


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def gunicorn(backend, tmp_path):
    """The app under gunicorn with three workers, as in production; yields (url, log path)."""
    if backend["name"] != "postgresql":
        pytest.skip("the multi-worker run uses the production setup (PostgreSQL + Redis)")
    port = _free_port()
    log = tmp_path / "gunicorn.log"
    env = {
        **os.environ,
        **base_env(backend),
        "LOG_LEVEL": "INFO",
        "WEB_CONCURRENCY": "3",
        "BIND": f"127.0.0.1:{port}",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    with log.open("w") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "python:analytics_app.gunicorn_conf",
                "wsgi:app",
            ],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                requests.get(url + "/api/analytics/healthz", timeout=2)
                break
            except requests.RequestException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield url, log
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_metrics_are_summed_across_gunicorn_workers(gunicorn):
    url, _ = gunicorn
    client = Client(url, make_token())
    for _ in range(24):
        assert client.ingest([make_event(), make_event(), make_event()]).status_code == 200
    # Whichever worker answers the scrape, it reports the whole service.
    for _ in range(6):
        text = requests.get(url + "/metrics", timeout=5).text
        assert metric(text, "analytics_ingest_events_total", outcome="stored") == 72
        assert metric(text, "analytics_ingest_batches_total", outcome="accepted") == 24


def test_logs_are_json_lines_with_request_id_and_subject_and_no_secrets(gunicorn):
    url, log = gunicorn
    token = make_token(sub="log-checker")
    secret_payload = {"card": "4111-1111-1111-1111"}
    response = Client(url, token).ingest(
        [make_event(payload=secret_payload)], headers={"X-Request-ID": "trace-me-1"}
    )
    assert response.status_code == 200
    time.sleep(0.5)
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is JSON
    mine = [r for r in records if r.get("request_id") == "trace-me-1"]
    assert mine and all(r["subject"] == "log-checker" for r in mine)
    assert any(r.get("path") == "/api/analytics/ingest" and r.get("status") == 200 for r in mine)
    text = log.read_text()
    assert "4111-1111" not in text and token not in text


def test_a_worker_serves_its_task_metrics(backend):
    port = _free_port()
    env = {**os.environ, **base_env(backend), "HUEY_IMMEDIATE": "false"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "analytics", "worker"]
    worker = subprocess.Popen(
        [*command, "--workers", "1", "--metrics-port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
                break
            except requests.RequestException:
                assert time.monotonic() < deadline, "the worker served no metrics"
                time.sleep(0.2)
    finally:
        worker.terminate()
        worker.wait(timeout=10)
    assert "analytics_task_failures_total" in text
    assert "analytics_task_queue_length" in text

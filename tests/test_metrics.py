"""Prometheus metrics: on a listener of their own, summed across gunicorn workers, with label
values from fixed sets, in a format promtool and Prometheus accept."""

import time
import uuid
from pathlib import Path

import pytest
import requests
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest

from analytics_app import ROOT, metrics_server
from analytics_app.metrics import OTHER_OUTCOME, OUTCOMES, LiveCollector

from helpers import Client, make_event, make_token
from processes import free_port, gunicorn, wait_for, worker
from prometheus import (
    assert_promtool_accepts,
    assert_scrapable_content_type,
    metric,
    prometheus,
    samples,
)


@pytest.fixture
def scrape():
    """This test process's metrics, served as the worker serves its own; returns a scraper."""
    server = metrics_server.serve("127.0.0.1:0", REGISTRY)
    url = f"http://127.0.0.1:{server.server_port}/metrics"
    yield lambda: requests.get(url, timeout=5).text
    server.shutdown()
    server.server_close()


@pytest.fixture
def production(backend, tmp_path):
    """gunicorn with three workers, as in production; yields (url, metrics url)."""
    if backend["name"] != "postgresql":
        pytest.skip("the multi-worker run uses the production setup (PostgreSQL + Redis)")
    with gunicorn(backend, tmp_path / "gunicorn.log", TMPDIR=str(tmp_path)) as urls:
        yield urls


def test_metrics_count_ingest_outcomes_and_latency_on_both_ingest_paths(client, scrape):
    before = scrape()
    client.ingest([make_event(), make_event()])
    client.ingest([make_event(type="nope")])
    client.ingest([make_event()], token=None)
    assert client.post("/api/e", json=[make_event()]).status_code == 200
    after = scrape()
    for name, labels, delta in [
        ("analytics_ingest_events_total", {"outcome": "stored"}, 3),
        ("analytics_ingest_events_total", {"outcome": "refused"}, 1),
        ("analytics_ingest_batches_total", {"outcome": "accepted"}, 2),
        ("analytics_ingest_batches_total", {"outcome": "invalid"}, 1),
        ("analytics_ingest_batches_total", {"outcome": "unauthorized"}, 1),
    ]:
        assert metric(after, name, **labels) - metric(before, name, **labels) == delta, name
    for endpoint in ("ingest.Ingest", "ingest_alias.Ingest"):
        count = "analytics_request_duration_seconds_count"
        labels = {"endpoint": endpoint, "method": "POST", "status": "200"}
        assert metric(after, count, **labels) > metric(before, count, **labels), endpoint
    assert "analytics_ingest_batch_size_bucket" in after


def test_the_public_listener_serves_no_metrics(client):
    assert client.get("/metrics", token=None).status_code == 404


def test_invented_methods_and_paths_add_no_series(client, scrape):
    def invent():
        method = "X" + uuid.uuid4().hex[:10].upper()
        path = f"/{uuid.uuid4().hex}/{uuid.uuid4().hex}"
        client.request(method, "/api/analytics/ingest", token=None)
        client.request(method, path, token=None)
        client.get(path, token=None)

    invent()  # the first ones make the "other" and "unmatched" series
    series = len(samples(scrape()))
    for _ in range(100):
        invent()
    text = scrape()
    assert len(samples(text)) == series
    assert 'method="other"' in text and 'endpoint="unmatched"' in text


def test_web_metrics_are_summed_across_gunicorn_workers_apart_from_the_public_port(production):
    url, metrics_url = production
    client = Client(url, make_token())
    for _ in range(24):
        assert client.ingest([make_event(), make_event(), make_event()]).status_code == 200
    assert requests.get(url + "/metrics", timeout=5).status_code == 404
    # Every scrape reports the whole service, whichever workers served the batches.
    for _ in range(3):
        text = requests.get(metrics_url, timeout=5).text
        assert metric(text, "analytics_ingest_events_total", outcome="stored") == 72
        assert metric(text, "analytics_ingest_batches_total", outcome="accepted") == 24


def test_web_metrics_pass_promtool_with_every_outcome_from_the_start(production):
    _, metrics_url = production
    response = requests.get(metrics_url, timeout=5)
    assert_scrapable_content_type(response.headers["Content-Type"])
    assert_promtool_accepts(response.text)
    for outcome in [*OUTCOMES.values(), OTHER_OUTCOME]:
        assert f'analytics_ingest_batches_total{{outcome="{outcome}"}} 0.0' in response.text
    for outcome in ("stored", "duplicate", "dropped", "refused"):
        assert f'analytics_ingest_events_total{{outcome="{outcome}"}} 0.0' in response.text
    openmetrics = requests.get(
        metrics_url, headers={"Accept": "application/openmetrics-text; version=1.0.0"}, timeout=5
    )
    assert_scrapable_content_type(openmetrics.headers["Content-Type"])
    assert openmetrics.text.endswith("# EOF\n")


def test_prometheus_scrapes_both_tiers_and_loads_the_alerting_rules(production, backend, tmp_path):
    _, web_metrics = production
    worker_port = free_port()
    with worker(backend, tmp_path / "worker.log", "--metrics-bind", str(worker_port)):
        wait_for(f"http://127.0.0.1:{worker_port}/metrics")
        targets = {
            "analytics-web": web_metrics.split("/")[2],
            "analytics-worker": f"127.0.0.1:{worker_port}",
        }
        with prometheus(tmp_path, targets, ROOT / "docs" / "prometheus" / "alerts.yml") as api:

            def state():
                """Scraped targets and evaluated rules, once every one has been."""
                try:
                    found = requests.get(f"{api}/targets", timeout=2).json()["data"]
                    groups = requests.get(f"{api}/rules", timeout=2).json()["data"]["groups"]
                except requests.RequestException:
                    return None
                active = [t for t in found["activeTargets"] if t["health"] != "unknown"]
                rules = [rule for group in groups for rule in group["rules"]]
                evaluated = rules and all(rule["health"] != "unknown" for rule in rules)
                return (active, rules) if len(active) == len(targets) and evaluated else None

            deadline = time.monotonic() + 30
            while (ready := state()) is None:
                assert time.monotonic() < deadline, "Prometheus scraped or evaluated nothing"
                time.sleep(0.5)
            found, rules = ready
            lag = requests.get(
                f"{api}/query", params={"query": "analytics_rollup_lag_seconds"}, timeout=5
            ).json()["data"]["result"]
    assert {(t["labels"]["job"], t["health"], t["lastError"]) for t in found} == {
        (job, "up", "") for job in targets
    }
    assert {rule["name"] for rule in rules} >= {"AnalyticsRollupStalled", "AnalyticsIngestSlow"}
    assert all(rule["health"] == "ok" for rule in rules)
    assert lag and lag[0]["metric"]["job"] == "analytics-worker"


def test_gunicorn_removes_its_metrics_directory_when_it_stops(backend, tmp_path):
    if backend["name"] != "postgresql":
        pytest.skip("one backend is enough to watch a directory")
    for _ in range(2):
        with gunicorn(backend, tmp_path / "gunicorn.log", workers=1, TMPDIR=str(tmp_path)):
            assert len(list(tmp_path.glob("analytics-metrics-*"))) == 1
    assert not list(tmp_path.glob("analytics-metrics-*"))


def test_a_worker_serves_task_metrics_and_the_live_gauges(make_app, backend, tmp_path):
    make_app(HUEY_IMMEDIATE="false").extensions["huey"].flush()
    port = free_port()
    with worker(backend, tmp_path / "worker.log", "--metrics-bind", f"127.0.0.1:{port}"):
        response = wait_for(f"http://127.0.0.1:{port}/metrics")
    assert_scrapable_content_type(response.headers["Content-Type"])
    assert_promtool_accepts(response.text)
    for task in ("rollup", "cleanup", "erase_user", "export"):
        assert f'analytics_task_failures_total{{task="{task}"}}' in response.text
    for gauge in ("task_queue_length", "rollup_lag_seconds", "rollup_marks_pending"):
        assert f"\nanalytics_{gauge} " in response.text


def test_the_rollup_lag_is_infinite_until_a_rollup_has_run(app):
    registry = CollectorRegistry()
    registry.register(LiveCollector(app))
    never = generate_latest(registry).decode()
    # The alert on the lag fires when no rollup ever ran (promtool reads +Inf).
    assert metric(never, "analytics_rollup_lag_seconds") == float("inf")
    assert_promtool_accepts(never)
    with app.app_context():
        app.extensions["tasks"].rollup()
    lag = metric(generate_latest(registry).decode(), "analytics_rollup_lag_seconds")
    assert 0 < lag < 3600


def test_the_worker_metrics_listen_on_loopback_unless_told_otherwise(backend, tmp_path):
    port = free_port()
    with worker(backend, tmp_path / "worker.log", "--metrics-bind", str(port)):
        wait_for(f"http://127.0.0.1:{port}/metrics")
        table = Path("/proc/net/tcp").read_text().splitlines()[1:]
        connections = [line.split() for line in table]
        listening = {fields[1] for fields in connections if fields[3] == "0A"}
    assert f"0100007F:{port:04X}" in listening

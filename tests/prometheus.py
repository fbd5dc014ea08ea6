"""Prometheus's own tools for the tests: ``promtool``, and reading the text format."""

import json
import os
import re
import shutil
import subprocess
from contextlib import contextmanager
from email.message import Message

import pytest

from processes import free_port

# What Prometheus 2 and 3 parse: the text format (0.0.4, or 1.0.0 when negotiated) or
# OpenMetrics, each parameter once (Go's mime.ParseMediaType refuses a repeated one).
SCRAPE_MEDIA_TYPES = {"text/plain", "application/openmetrics-text"}


def installed(name):
    """The path of one of Debian's prometheus tools; skip when missing (fail under CI)."""
    binary = shutil.which(name)
    if binary is None:
        message = f"{name} is not installed (apt-get install prometheus)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return binary


def promtool(*args, stdin=None):
    """Run ``promtool`` and return what it did."""
    return subprocess.run(
        [installed("promtool"), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@contextmanager
def prometheus(workdir, targets, rules):
    """A Prometheus server scraping ``{job: "host:port"}`` every second; yields its API URL."""
    port = free_port()
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(rules)],
        "scrape_configs": [
            {"job_name": job, "static_configs": [{"targets": [target]}]}
            for job, target in targets.items()
        ],
    }
    (workdir / "prometheus.yml").write_text(json.dumps(config))  # JSON is YAML
    command = [
        installed("prometheus"),
        f"--config.file={workdir / 'prometheus.yml'}",
        f"--web.listen-address=127.0.0.1:{port}",
        f"--storage.tsdb.path={workdir / 'data'}",
    ]
    with (workdir / "prometheus.log").open("w") as log:
        server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield f"http://127.0.0.1:{port}/api/v1"
    finally:
        server.terminate()
        server.wait(timeout=15)


def assert_promtool_accepts(exposition):
    """``promtool check metrics`` finds nothing to complain about."""
    checked = promtool("check", "metrics", stdin=exposition)
    assert checked.returncode == 0 and not checked.stdout.strip(), checked.stdout + checked.stderr


def assert_scrapable_content_type(header):
    """A Content-Type that Prometheus 2 and 3 accept: a known format, no repeated parameter."""
    parsed = Message()
    parsed["Content-Type"] = header
    media_type, *params = parsed.get_params()
    names = [name for name, _ in params]
    assert media_type[0] in SCRAPE_MEDIA_TYPES, header
    assert len(names) == len(set(names)), f"repeated parameter in {header!r}"
    assert dict(params).get("version") in {"0.0.4", "1.0.0"}, header


def metric(text, name, **labels):
    """The value of one sample in Prometheus text format (0 when absent)."""
    for line in samples(text):
        sample_name, _, rest = line.partition("{")
        if "{" not in line:
            sample_name, _, value = line.partition(" ")
            if sample_name == name and not labels:
                return float(value)
            continue
        label_text, _, value = rest.rpartition("} ")
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', label_text))
        if sample_name == name and found == {k: str(v) for k, v in labels.items()}:
            return float(value)
    return 0.0


def samples(text):
    """Every sample line (one per series) of an exposition."""
    return [line for line in text.splitlines() if line and not line.startswith("#")]

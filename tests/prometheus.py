"""Prometheus's own tools for the tests: ``promtool``, and reading the text format."""

import os
import re
import shutil
import subprocess
from email.message import Message

import pytest

# What Prometheus 2 and 3 parse: the text format (0.0.4, or 1.0.0 when negotiated) or
# OpenMetrics, each parameter once (Go's mime.ParseMediaType refuses a repeated one).
SCRAPE_MEDIA_TYPES = {"text/plain", "application/openmetrics-text"}


def promtool(*args, stdin=None):
    """Run Debian's ``promtool``; skip when it is missing (fail under CI, which installs it)."""
    binary = shutil.which("promtool")
    if binary is None:
        message = "promtool is not installed (apt-get install prometheus)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return subprocess.run(
        [binary, *args], input=stdin, capture_output=True, text=True, timeout=60, check=False
    )


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

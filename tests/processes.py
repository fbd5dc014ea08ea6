"""The service's real processes for the tests: gunicorn as in production, and the worker."""

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager

import requests

from analytics_app import ROOT

from conftest import base_env


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url, timeout=20):
    """GET ``url`` until it answers; return the response."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return requests.get(url, timeout=2)
        except requests.RequestException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def process_env(backend, **overrides):
    """The test app's environment for a child process (no inherited metrics directory)."""
    env = {**os.environ, **base_env(backend), **overrides}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return env


@contextmanager
def gunicorn(backend, log_path, workers=3, **overrides):
    """The production command (gunicorn with the project's config); yields (url, metrics url)."""
    port, metrics_port = free_port(), free_port()
    env = process_env(
        backend,
        LOG_LEVEL="INFO",
        WEB_CONCURRENCY=str(workers),
        BIND=f"127.0.0.1:{port}",
        METRICS_BIND=f"127.0.0.1:{metrics_port}",
        **overrides,
    )
    command = [sys.executable, "-m", "gunicorn", "-c", "python:analytics_app.gunicorn_conf"]
    with log_path.open("w") as output:
        server = subprocess.Popen(
            [*command, "wsgi:app"], cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(url + "/api/analytics/healthz")
        yield url, f"http://127.0.0.1:{metrics_port}/metrics"
    finally:
        server.terminate()
        server.wait(timeout=15)


@contextmanager
def worker(backend, log_path, *options, **overrides):
    """``flask analytics worker`` with one thread; yields the process."""
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "analytics", "worker"]
    env = process_env(backend, LOG_LEVEL="INFO", HUEY_IMMEDIATE="false", **overrides)
    with log_path.open("w") as output:
        process = subprocess.Popen(
            [*command, "--workers", "1", *options],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=15)

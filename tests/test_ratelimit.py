"""Rate limit per token subject: 429 with Retry-After, shared across processes via Redis."""

import os
import socket
import subprocess
import sys
import time
import uuid

import pytest
import redis
import requests

from analytics_app import ROOT
from analytics_app.ratelimit import RateLimit, RateLimitedError

from conftest import REDIS_URL, base_env
from helpers import Client, count_events, make_event, make_token


def test_requests_past_the_limit_get_429_with_retry_after(make_app, serve):
    app = make_app(RATE_LIMIT_PER_MINUTE="3")
    url = serve(app).url
    client = Client(url, make_token())
    statuses = [client.ingest([make_event()]).status_code for _ in range(3)]
    refused = client.ingest([make_event()])
    assert statuses == [200, 200, 200]
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.json()["code"] == 429
    assert count_events(app) == 3
    # The limit is per subject: another service is not held back.
    assert Client(url, make_token()).ingest([make_event()]).status_code == 200


def test_ingest_keeps_working_when_redis_is_down(make_app, serve, backend):
    if backend["name"] != "postgresql":
        pytest.skip("the embedded setup has no Redis to lose")
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0", RATE_LIMIT_PER_MINUTE="2")
    client = Client(serve(app).url, make_token())
    assert [client.ingest([make_event()]).status_code for _ in range(3)] == [200, 200, 429]


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_gunicorn(env):
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--no-control-socket",
            "-w",
            "1",
            "-b",
            f"127.0.0.1:{port}",
            "wsgi:app",
        ],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            requests.get(url + "/api/analytics/healthz", timeout=2)
            return process, url
        except requests.RequestException:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("gunicorn did not start")


def test_the_limit_is_shared_by_two_app_processes(backend):
    if backend["name"] != "postgresql":
        pytest.skip("sharing the count across processes needs Redis")
    env = base_env({**backend, "RATE_LIMIT_PER_MINUTE": "6"})
    processes = []
    try:
        for _ in range(2):
            processes.append(_start_gunicorn(env))
        token = make_token(sub=f"shared-{uuid.uuid4().hex}")
        clients = [Client(url, token) for _, url in processes]
        statuses = [clients[i % 2].ingest([make_event()]).status_code for i in range(8)]
    finally:
        for process, _ in processes:
            process.terminate()
            process.wait(timeout=10)
    # Each process alone would allow 6; together they allow 6 in all.
    assert statuses == [200] * 6 + [429] * 2


def test_the_count_stays_in_redis_when_its_connection_drops():
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        pytest.skip(f"Redis unreachable at {REDIS_URL}: {error}")
    limit, key = RateLimit(3, REDIS_URL), f"dropped-{uuid.uuid4().hex}"
    limit.hit(key)
    # Redis closes the connection the limiter holds (a restart, an idle timeout): it reconnects.
    held = limit.limiter.shared.counter._connection._sock.getsockname()
    client.client_kill(f"{held[0]}:{held[1]}")
    limit.hit(key)
    limit.hit(key)
    with pytest.raises(RateLimitedError):
        limit.hit(key)
    assert int(client.get(f"analytics:ratelimit:LIMITER/{key}/3/1/minute")) == 4
    assert 55 <= client.ttl(f"analytics:ratelimit:LIMITER/{key}/3/1/minute") <= 60

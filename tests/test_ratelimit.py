"""Ingest rate limits: per token subject and client address, with a ceiling per token; 429 with
Retry-After; shared across processes via Redis; X-Forwarded-For trusted only behind
TRUSTED_PROXIES."""

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
from analytics_app.ratelimit import IngestRateLimit, RateLimitedError

from conftest import REDIS_URL, base_env
from helpers import Client, SourceAddressAdapter, count_events, make_event, make_token, query


def client_from(url, token, address):
    client = Client(url, token)
    client.session.mount("http://", SourceAddressAdapter(address))
    return client


def statuses(client, count, **kwargs):
    return [client.ingest([make_event()], **kwargs).status_code for _ in range(count)]


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


def test_browsers_sharing_a_token_are_limited_each_on_its_own(make_app, serve):
    """One embedded token, many visitors: each address has RATE_LIMIT_PER_MINUTE."""
    app = make_app(RATE_LIMIT_PER_MINUTE="2")
    url, token = serve(app).url, make_token(sub=f"web-app-{uuid.uuid4().hex}")
    noisy, quiet = client_from(url, token, "127.0.0.2"), client_from(url, token, "127.0.0.3")
    assert statuses(noisy, 3) == [200, 200, 429]
    assert statuses(quiet, 2) == [200, 200]
    assert count_events(app) == 4


def test_each_forwarded_address_behind_a_trusted_proxy_has_its_own_limit(make_app, serve):
    app = make_app(RATE_LIMIT_PER_MINUTE="2", TRUSTED_PROXIES="1")
    client = Client(serve(app).url, make_token(sub=f"web-app-{uuid.uuid4().hex}"))
    for n in range(1, 6):
        forwarded = {"X-Forwarded-For": f"203.0.113.{n}"}
        assert statuses(client, 3, headers=forwarded) == [200, 200, 429], n
    audited = query(app, "SELECT DISTINCT remote_addr FROM ingest_audit ORDER BY 1")
    assert [row[0] for row in audited] == [f"203.0.113.{n}" for n in range(1, 6)]


def test_a_forged_forwarded_for_gains_nothing_without_trusted_proxies(make_app, serve):
    app = make_app(RATE_LIMIT_PER_MINUTE="2")  # TRUSTED_PROXIES defaults to 0
    client = Client(serve(app).url, make_token(sub=f"web-app-{uuid.uuid4().hex}"))
    forged = [{"X-Forwarded-For": f"198.51.100.{n}"} for n in range(3)]
    assert [client.ingest([make_event()], headers=h).status_code for h in forged] == [
        200,
        200,
        429,
    ]
    audited = query(app, "SELECT DISTINCT remote_addr FROM ingest_audit")
    assert [row[0] for row in audited] == ["127.0.0.1"]


def test_the_token_ceiling_holds_for_every_address(make_app, serve):
    app = make_app(RATE_LIMIT_PER_MINUTE="5", RATE_LIMIT_TOKEN_PER_MINUTE="4", TRUSTED_PROXIES="1")
    url, token = serve(app).url, make_token(sub=f"leaked-{uuid.uuid4().hex}")
    client = Client(url, token)
    sent = [
        client.ingest([make_event()], headers={"X-Forwarded-For": f"192.0.2.{n}"}) for n in range(6)
    ]
    assert [response.status_code for response in sent] == [200] * 4 + [429] * 2
    assert 1 <= int(sent[-1].headers["Retry-After"]) <= 60
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


def test_the_token_ceiling_is_shared_by_two_app_processes(backend):
    if backend["name"] != "postgresql":
        pytest.skip("sharing the count across processes needs Redis")
    env = {"RATE_LIMIT_PER_MINUTE": "100", "RATE_LIMIT_TOKEN_PER_MINUTE": "6"}
    env = base_env({**backend, **env, "TRUSTED_PROXIES": "1"})
    processes = []
    try:
        for _ in range(2):
            processes.append(_start_gunicorn(env))
        token = make_token(sub=f"ceiling-{uuid.uuid4().hex}")
        clients = [Client(url, token) for _, url in processes]
        got = [
            clients[n % 2]
            .ingest([make_event()], headers={"X-Forwarded-For": f"192.0.2.{n}"})
            .status_code
            for n in range(8)
        ]
    finally:
        for process, _ in processes:
            process.terminate()
            process.wait(timeout=10)
    # Eight browsers, each far under its own limit, through two workers: six in all.
    assert got == [200] * 6 + [429] * 2


def test_the_count_stays_in_redis_when_its_connection_drops():
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        pytest.skip(f"Redis unreachable at {REDIS_URL}: {error}")
    limit, subject = IngestRateLimit(3, 1000, REDIS_URL), f"dropped-{uuid.uuid4().hex}"
    limit.hit(subject, "192.0.2.1")
    # Redis closes the connection the limiter holds (a restart, an idle timeout): it reconnects.
    held = limit.windows.shared._connection._sock.getsockname()
    client.client_kill(f"{held[0]}:{held[1]}")
    limit.hit(subject, "192.0.2.1")
    limit.hit(subject, "192.0.2.1")
    with pytest.raises(RateLimitedError):
        limit.hit(subject, "192.0.2.1")
    key = f"analytics:ratelimit:client:{len(subject)}:{subject}:192.0.2.1"
    assert int(client.get(key)) == 4
    assert int(client.get(f"analytics:ratelimit:token:{subject}")) == 4
    assert 55 <= client.ttl(key) <= 60


def test_the_limits_survive_redis_forgetting_its_scripts():
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        pytest.skip(f"Redis unreachable at {REDIS_URL}: {error}")
    limit, subject = IngestRateLimit(2, 1000, REDIS_URL), f"flushed-{uuid.uuid4().hex}"
    limit.hit(subject, "192.0.2.1")
    client.script_flush()  # as after a Redis restart
    limit.hit(subject, "192.0.2.1")
    with pytest.raises(RateLimitedError):
        limit.hit(subject, "192.0.2.1")

"""Slow clients against the web tier: /healthz latency while connections trickle headers and
bodies, with gunicorn answering the internet itself and with nginx (docs/nginx/) in front.

    .venv/bin/python bench/slow_clients.py [--seconds 30] [--connections 200] [--workers 4]

gunicorn runs with the production config (analytics_app/gunicorn_conf.py, sync workers) on a
scratch database (``analytics_slow_clients``) with Redis. Each phase opens ``--connections``
connections that send a request line and then one header byte a second, and as many again that
send complete headers and then one body byte a second (half to ingest, half to the sign-in
form); a connection the server drops is opened again. A probe thread asks for
/api/analytics/healthz four times a second (5 s timeout) and records how long each took.
Phases: idle and under the trickle, straight to gunicorn, then through nginx (TLS, the shipped
configuration, Debian's nginx). The trickle and the probe are the test's
(tests/slow_clients.py), as is the way nginx is configured and started (tests/proxy.py). The
last line printed is one JSON object with every figure.
"""

import argparse
import json
import secrets
import sys
from datetime import UTC, datetime

from _services import RESULTS, ROOT, Database, app_environment, gunicorn, migrate, stop_on_signals

sys.path.insert(0, str(ROOT / "tests"))
# The tests' helpers, shared rather than copied.
from proxy import nginx
from slow_clients import (
    Probe,
    Target,
    body_start,
    header_start,
    trickle_while_probing,
)

DATABASE = "analytics_slow_clients"
HOST = "localhost"


def trickle(connections):
    form = "application/x-www-form-urlencoded"
    return (
        [header_start(HOST)] * connections
        + [body_start(HOST, "/api/analytics/ingest", "application/json")] * (connections // 2)
        + [body_start(HOST, "/dashboard/sign-in", form)] * (connections - connections // 2)
    )


def idle(target, seconds, workers):
    """Health latency with nothing else going on, once every worker has loaded the app."""
    warm_up = Probe(target, timeout=60)
    for _ in range(3 * workers):
        warm_up.check_once()
    probe = Probe(target)
    for _ in range(int(seconds / probe.period)):
        probe.check_once()
    return probe.summary()


def phase(name, target, args):
    figures = {"idle": idle(target, 5, args.workers)}
    pressure, probe = trickle_while_probing(target, trickle(args.connections), args.seconds)
    figures["trickle"] = {**probe.summary(), "opened": pressure.opened}
    row = figures["trickle"]
    print(
        f"{name:8s} idle p50 {figures['idle']['median_s'] * 1000:6.1f} ms | under the trickle:"
        f" {row['probes']} probes, {row['failed']} failed, p50 {row['median_s'] * 1000:7.1f} ms,"
        f" p99 {row['p99_s'] * 1000:7.1f} ms, max {row['max_s'] * 1000:7.1f} ms;"
        f" {row['opened']} connections opened",
        flush=True,
    )
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--port", type=int, default=8096, help="gunicorn; nginx on +1 and +2")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/11")
    args = parser.parse_args()
    stop_on_signals()

    database = Database(args.postgres, DATABASE)
    database.recreate()
    env = app_environment(
        database.url,
        secrets.token_urlsafe(48),
        args.redis,
        LOG_LEVEL="WARNING",
        TRUSTED_HOSTS=HOST,
        TRUSTED_PROXIES="1",
        METRICS_BIND="",
    )
    production = ["-c", "python:analytics_app.gunicorn_conf"]
    print(
        f"slow clients {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: gunicorn -w {args.workers} sync,"
        f" {args.connections} header + {args.connections} body tricklers for {args.seconds:.0f} s",
        flush=True,
    )
    try:
        migrate(env)
        log = RESULTS / "slow-clients-gunicorn.log"
        with gunicorn(env, log, args.port, args.workers, options=production):
            figures = {"direct": phase("direct", Target(args.port, HOST), args)}
            upstream = f"127.0.0.1:{args.port}"
            folder = RESULTS / "slow-clients-nginx"
            with nginx(folder, upstream, args.port + 1, args.port + 2, host=HOST):
                target = Target(args.port + 1, HOST, tls=True)
                figures["nginx"] = phase("nginx", target, args)
    finally:
        database.drop()
    figures.update(seconds=args.seconds, connections=args.connections, workers=args.workers)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

"""A sustained mixed load against gunicorn on PostgreSQL: ingest batches, single events and
reports, for a set duration; throughput, latency percentiles and errors per kind of request.

    .venv/bin/python bench/load.py [--seconds 60] [--clients 8] [--workers 4]
                                   [--mix batch=2,single=6,report=2] [--batch-size 100]
                                   [--database analytics_load]

The app runs with its production gunicorn config (analytics_app/gunicorn_conf.py), Redis for
the rate-limit count (the limit itself set out of reach) and a scratch database seeded with
demo data and rolled up, so reports have finished days to read. The Huey worker runs beside it,
as in production: its schedule keeps rolling today's events up, so today's part that reports
read raw stays small however long the load lasts. Every client thread loops until the duration
is over, picking the next request by the mix's weights; reports cycle through today's DAU, a
30-day DAU series, 7 days of active users and 7 days of engagement. The last line printed is
one JSON object with every figure.
"""

import argparse
import json
import os
import random
import secrets
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import jwt
from _drivers import HttpSession
from _services import (
    BIN,
    RESULTS,
    ROOT,
    Database,
    app_environment,
    gunicorn,
    huey_worker,
    migrate,
    worker_pids,
)
from _workload import SDK_AGE, http_request, make_events


def report_paths():
    today = datetime.now(UTC).date()
    month_ago = today - timedelta(days=29)
    return [
        "/api/analytics/reports/dau",
        f"/api/analytics/reports/dau?start={month_ago}&end={today}",
        "/api/analytics/reports/active-users",
        "/api/analytics/reports/engagement",
    ]


def token(secret, subject, scope=None):
    """An HS256 token as any client library would make it."""
    claims = {"sub": subject, "exp": datetime.now(UTC) + timedelta(hours=2)}
    if scope:
        claims["scope"] = scope
    return jwt.encode(claims, secret, algorithm="HS256")


def get_request(token, path):
    head = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        "User-Agent: analytics-load/1\r\n\r\n"
    )
    return head.encode("ascii")


def parse_mix(text):
    weights = {}
    for part in text.split(","):
        name, _, weight = part.partition("=")
        if name not in ("batch", "single", "report"):
            raise SystemExit(f"unknown request kind {name!r} in --mix")
        weights[name] = float(weight)
    return weights


class Recorder:
    """Latencies and errors per kind of request, shared by the client threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.latencies = {}
        self.errors = {}
        self.events = 0

    def add(self, kind, seconds, error, events):
        with self.lock:
            self.latencies.setdefault(kind, []).append(seconds)
            if error:
                self.errors[kind] = self.errors.get(kind, 0) + 1
            elif kind != "report":
                self.events += events


EVENT_AGE_HELP = (
    "how old the events are, at most, in seconds (default: sdk-js's flush interval); 3600 makes"
    " nearly every batch a late one, which marks today stale until the next rollup"
)


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def client(port, deadline, mix, batch_size, tokens, recorder, seed, age=SDK_AGE):
    """One client: keep sending requests, picked by weight, until the deadline; its events
    are up to ``age`` seconds old."""
    rng = random.Random(seed)
    session = HttpSession(port)
    kinds, weights = zip(*mix.items(), strict=True)
    paths = report_paths()
    counter = 0
    while time.monotonic() < deadline:
        kind = rng.choices(kinds, weights)[0]
        counter += 1
        if kind == "report":
            request, events = get_request(tokens["read"], paths[counter % len(paths)]), 0
        else:
            size = batch_size if kind == "batch" else 1
            request = http_request(tokens["ingest"], make_events(size, rng.getrandbits(64), age))
            events = size
        started = time.perf_counter()
        try:
            error = session(request)
        except OSError as failure:
            error = str(failure)
        recorder.add(kind, time.perf_counter() - started, error, events)
    session.close()


def seed_data(env):
    """Four weeks of demo data, rolled up: reports then read rollups for finished days."""
    subprocess.run(
        [BIN / "flask", "--app", "wsgi", "analytics", "demo", "--users", "2000", "--days", "28"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--mix", default="batch=2,single=6,report=2")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--event-age", type=float, default=SDK_AGE, help=EVENT_AGE_HELP)
    parser.add_argument("--port", type=int, default=8095)
    parser.add_argument("--database", default="analytics_load")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/11")
    args = parser.parse_args()
    mix = parse_mix(args.mix)

    database = Database(args.postgres, args.database)
    database.recreate()
    secret = secrets.token_urlsafe(48)
    env = app_environment(
        database.url, secret, args.redis, LOG_LEVEL="WARNING", REPORT_CACHE_SECONDS="30"
    )
    tokens = {
        "ingest": token(secret, "load-ingest"),
        "read": token(secret, "load-reader", "analytics:read"),
    }
    try:
        migrate(env)
        seed_data(env)
        log = RESULTS / "load-gunicorn.log"
        production = ["-c", "python:analytics_app.gunicorn_conf"]
        with (
            huey_worker(env, RESULTS / "load-worker.log"),
            gunicorn(env, log, args.port, args.workers, options=production) as server,
        ):
            print(
                f"load: {args.seconds:.0f} s, {args.clients} clients, gunicorn -w {args.workers},"
                f" mix {args.mix}, batches of {args.batch_size}, with the Huey worker;"
                f" load average {os.getloadavg()[0]:.2f}",
                flush=True,
            )
            recorder = Recorder()
            load_started = datetime.now(UTC)
            deadline = time.monotonic() + args.seconds
            threads = [
                threading.Thread(
                    target=client,
                    args=(args.port, deadline, mix, args.batch_size, tokens, recorder, n),
                    kwargs={"age": args.event_age},
                )
                for n in range(args.clients)
            ]
            started = time.monotonic()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.monotonic() - started
            workers = len(worker_pids(server))
        with database.connect() as connection:
            stored = connection.execute(
                "SELECT count(*) FROM events WHERE created_at >= %s", (load_started,)
            ).fetchone()[0]
    finally:
        database.drop()

    figures = {"seconds": round(elapsed, 1), "clients": args.clients, "workers": workers}
    total_requests = total_errors = 0
    for kind, latencies in sorted(recorder.latencies.items()):
        errors = recorder.errors.get(kind, 0)
        total_requests += len(latencies)
        total_errors += errors
        row = {
            "requests": len(latencies),
            "req_s": round(len(latencies) / elapsed, 1),
            "p50_ms": round(percentile(latencies, 0.50) * 1000, 1),
            "p95_ms": round(percentile(latencies, 0.95) * 1000, 1),
            "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
            "errors": errors,
        }
        figures[kind] = row
        print(
            f"{kind:7s} {row['req_s']:8.1f} req/s  p50 {row['p50_ms']:7.1f} ms  p95"
            f" {row['p95_ms']:7.1f} ms  p99 {row['p99_ms']:7.1f} ms  errors {errors}"
        )
    figures.update(
        requests=total_requests,
        req_s=round(total_requests / elapsed, 1),
        events_s=round(recorder.events / elapsed, 1),
        errors=total_errors,
        events_acknowledged=recorder.events,
        events_stored=stored,
    )
    print(
        f"total   {figures['req_s']:8.1f} req/s, {figures['events_s']:.0f} events/s, errors"
        f" {total_errors}; events acknowledged {recorder.events}, stored {stored}"
    )
    print(json.dumps(figures))
    return 0 if total_errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

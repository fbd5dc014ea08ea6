"""Report cache benchmark (issue 12): what repeated reads cost, and what read-your-writes costs.

Run from the repository root: ``.venv/bin/python bench/report_cache.py`` (see bench/README.md).
Generates (or reuses) events in its own database (``bench/_reports_data.py``; by default 2
million over 90 days), rolls them up, then asks the reports through the whole app in process
(Flask's test client: routing, token, schemas, cache, JSON; no HTTP server), with the cache in
Redis:

1. each report with the cache off, and repeated with it on (every call after the first hits);
2. each report right after an ingest of one event for today (every call follows a write);
3. a mixed load: rounds of one ingest, then every report ``--reads`` times; the hit rate from
   ``analytics_report_cache_total``.

``--reuse --no-rollup`` measures stored events as the worker left them (say, a copy made
before midnight): the days it has not rolled yet are read alone (issue 17).

Prints human-readable lines, then one JSON object with every figure as the last line.
"""

import argparse
import json
import secrets
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import jwt
from _client import summary
from _reports_data import Params, ensure_events, stored_params, today_utc
from _services import Database, app_environment, stop_on_signals

DATABASE = "analytics_bench_api12"


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=2_000_000, help="events to generate")
    parser.add_argument("--users", type=int, default=50_000, help="distinct user ids")
    parser.add_argument("--days", type=int, default=90, help="days of events, up to today")
    parser.add_argument("--repeat", type=int, default=30, help="timed calls per case")
    parser.add_argument("--rounds", type=int, default=20, help="ingests in the mixed load")
    parser.add_argument("--reads", type=int, default=5, help="reads of each report per ingest")
    parser.add_argument("--database", default=DATABASE, help="the bench's database")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/5", help="Redis for the cache")
    parser.add_argument("--drop", action="store_true", help="drop the database at the end")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="use the stored events whatever day they were made on (not regenerated)",
    )
    parser.add_argument(
        "--no-rollup",
        action="store_true",
        help="skip the rollup: the days it has not stored yet are met as after midnight",
    )
    parser.add_argument(
        "--postgres", default="postgresql://postgres@127.0.0.1:5432", help="server, no database"
    )
    return parser.parse_args(argv)


def token(secret, scope):
    claims = {"sub": "bench", "exp": datetime.now(UTC) + timedelta(hours=2), "scope": scope}
    return jwt.encode(claims, secret, algorithm="HS256")


def reports(today):
    """The reports a dashboard asks for, by name: their query strings."""
    yesterday = today - timedelta(days=1)
    return {
        "dau finished day": f"dau?date={yesterday}",
        "dau 90-day series": f"dau?start={today - timedelta(days=89)}&end={today}",
        "active users, 7 days": "active-users",
        "engagement, 7 days": "engagement",
        "retention, 30 days": "retention",
    }


class Caller:
    """The app in process, with a reader's and an ingester's token."""

    def __init__(self, app, secret):
        self.app, self.client = app, app.test_client()
        self.read = {"Authorization": f"Bearer {token(secret, 'analytics:read')}"}
        self.write = {"Authorization": f"Bearer {token(secret, '')}"}

    def get(self, query):
        began = time.perf_counter()
        response = self.client.get(f"/api/analytics/reports/{query}", headers=self.read)
        seconds = time.perf_counter() - began
        if response.status_code != 200:
            raise RuntimeError(f"{query}: {response.status_code} {response.get_data(as_text=True)}")
        return response.get_json(), seconds

    def ingest(self):
        event = {
            "id": str(uuid.uuid4()),
            "ts": datetime.now(UTC).isoformat(),
            "user_id": f"bench-{uuid.uuid4().hex[:8]}",
            "type": "page_view",
            "payload": {"page": "/bench"},
        }
        response = self.client.post("/api/analytics/ingest", json=[event], headers=self.write)
        if response.status_code != 200:
            raise RuntimeError(f"ingest: {response.status_code}")


def timed(label, calls, before=None):
    """Time ``calls`` (each after ``before``, untimed); print and return the summary."""
    seconds = []
    for call in calls:
        if before:
            before()
        seconds.append(call()[1])
    figures = summary(seconds)
    print(f"  {label}: median {figures['median_ms']} ms, p95 {figures['p95_ms']} ms", flush=True)
    return figures


def run(args, env):
    from analytics_app import create_app
    from analytics_app.extensions import db
    from analytics_app.metrics import REPORT_CACHE
    from analytics_app.reports.stored import rolled_zones
    from analytics_app.rollup.run import roll_up

    today = today_utc()
    off = Caller(create_app({**env, "REPORT_CACHE_SECONDS": "0"}), env["JWT_SECRET_KEY"])
    on = Caller(create_app({**env, "REPORT_CACHE_SECONDS": "300"}), env["JWT_SECRET_KEY"])
    if not args.no_rollup:
        with on.app.app_context():
            began = time.perf_counter()
            roll_up(rolled_zones(on.app.config))
            db.session.remove()
        print(f"rollup: {time.perf_counter() - began:.1f} s", flush=True)
    redis = on.app.extensions["redis"]
    for key in redis.scan_iter("analytics:report:*"):  # start cold; nothing else is touched
        redis.delete(key)
    result = {}
    for name, query in reports(today).items():
        print(name, flush=True)
        figures = {"off": timed("cache off", [lambda q=query: off.get(q)] * args.repeat)}
        figures["first"] = summary([on.get(query)[1]])
        figures["hit"] = timed("cache on, repeated", [lambda q=query: on.get(q)] * args.repeat)
        figures["after_ingest"] = timed(
            "cache on, after an ingest each", [lambda q=query: on.get(q)] * args.repeat, on.ingest
        )
        same = on.get(query)[0] == off.get(query)[0]
        figures["equal_to_uncached"] = same
        result[name] = figures
    counts = {label: REPORT_CACHE.labels(label)._value.get() for label in ("hit", "miss")}
    for _ in range(args.rounds):
        on.ingest()
        for query in reports(today).values():
            for _ in range(args.reads):
                on.get(query)
    hits = REPORT_CACHE.labels("hit")._value.get() - counts["hit"]
    misses = REPORT_CACHE.labels("miss")._value.get() - counts["miss"]
    rate = hits / (hits + misses)
    print(
        f"mixed load ({args.rounds} ingests, each followed by {args.reads} reads of every"
        f" report): {hits} hits, {misses} misses, hit rate {rate:.3f}",
        flush=True,
    )
    result["mixed"] = {"hits": hits, "misses": misses, "hit_rate": round(rate, 3)}
    return result


def main(argv=None):
    args = parse_args(argv)
    stop_on_signals()
    database = Database(args.postgres, args.database)
    secret = secrets.token_urlsafe(48)
    env = app_environment(database.url, secret, args.redis, REPORT_TIMEZONE="UTC")
    env["LOG_LEVEL"] = "WARNING"
    params = Params(args.events, args.users, args.days, 1, today_utc().isoformat())
    if args.reuse and database.exists():
        params = stored_params(database) or params
    load = ensure_events(database, env, params)
    started = time.time()
    try:
        result = {"data": {**load, "events": args.events, "days": args.days}, **run(args, env)}
    finally:
        if args.drop:
            database.drop()
    result["seconds"] = round(time.time() - started, 1)
    print(json.dumps(result))
    figures = [f for f in result.values() if isinstance(f, dict)]
    return 0 if all(f.get("equal_to_uncached", True) for f in figures) else 1


if __name__ == "__main__":
    sys.exit(main())

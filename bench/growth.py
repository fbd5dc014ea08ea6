"""Growth benchmark (issue 14): retention by partition drop against batched DELETE, and
report latency on a streaming replica against the primary.

Run from the repository root (see bench/README.md, "Growth benchmark"):

* ``.venv/bin/python bench/growth.py retention``: generates (or reuses) 10 million events
  over 90 days in ``--database`` (daily partitions, every client id in ``event_ids``), copies
  the database, removes the oldest ``--delete-days`` days from the copy row by row (the
  batched ``DELETE`` of ``retention.delete_events_in_batches``; all 60 days would take over an
  hour), and applies a 30-day retention to the original the way the hourly cleanup does (drop
  whole partitions, batches at the edge). For each: wall time, WAL written
  (``pg_current_wal_lsn()`` before and after, the whole server's, so other sessions' writes
  count too), both per million events, and the size of events and event_ids afterwards.
* ``.venv/bin/python bench/growth.py convert``: ``--convert-events`` events in a table at
  migration 0008 (one plain table), then migration 0009 timed, with the WAL it wrote: what
  converting a live installation costs.
* ``.venv/bin/python bench/growth.py replica``: a private primary and its streaming replica
  (``tests/replica.py``), ``--replica-events`` events over 30 days, and the DAU series, the
  engagement report and today's DAU over HTTP, from an app without and with
  ``REPORT_DATABASE_URL``, alternating.

Prints lines, then one JSON object with every figure as the last line.
"""

import argparse
import json
import os
import secrets
import sys
import time
from dataclasses import asdict
from datetime import UTC, datetime, timedelta

from _client import get, machine, read_token, summary
from _reports_data import Params, ensure_events, today_utc
from _services import READ_SETTINGS, ROOT, Database, app_environment, free_port, gunicorn

sys.path.insert(0, str(ROOT / "tests"))
from replica import StreamingPair  # the tests' pair of servers

DATABASE = "analytics_bench_growth"
SIZES = """
SELECT (SELECT sum(pg_total_relation_size(relid)) FROM pg_partition_tree('events')),
       pg_total_relation_size('event_ids')
"""


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["retention", "convert", "replica"])
    parser.add_argument("--database", default=DATABASE, help="the retention bench's database")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--users", type=int, default=200_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--keep-days", type=int, default=30, help="the retention applied")
    parser.add_argument(
        "--delete-days",
        type=int,
        default=3,
        help="oldest days removed by batched DELETE (all of them would take over an hour)",
    )
    parser.add_argument("--replica-events", type=int, default=1_000_000)
    parser.add_argument("--convert-events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=30, help="requests per report and app")
    parser.add_argument("--keep", action="store_true", help="keep the databases afterwards")
    return parser.parse_args(argv)


def _wal_and_sizes(database):
    with database.connect(autocommit=True) as connection:
        lsn = connection.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
        events, ids = connection.execute(SIZES).fetchone()
    return lsn, {"events_bytes": int(events), "event_ids_bytes": int(ids)}


def _wal_since(database, lsn):
    with database.connect() as connection:
        return int(
            connection.execute(
                "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s)", (lsn,)
            ).fetchone()[0]
        )


def _timed_cleanup(database, env, cleanup):
    """Run ``cleanup(app)`` against ``database``; its seconds, WAL and sizes."""
    from analytics_app import create_app

    app = create_app({**env, "DATABASE_URL": database.url})
    lsn, before = _wal_and_sizes(database)
    began = time.perf_counter()
    with app.app_context():
        deleted = cleanup()
    seconds = time.perf_counter() - began
    wal = _wal_since(database, lsn)
    _, after = _wal_and_sizes(database)
    figures = {
        "events_deleted": deleted,
        "seconds": round(seconds, 1),
        "wal_bytes": wal,
        "before": before,
        "after": after,
    }
    print(
        f"  {deleted:,} events in {seconds:.1f} s, WAL {wal / 1e6:,.0f} MB; events"
        f" {before['events_bytes'] / 1e6:,.0f} → {after['events_bytes'] / 1e6:,.0f} MB,"
        f" event_ids {before['event_ids_bytes'] / 1e6:,.0f} →"
        f" {after['event_ids_bytes'] / 1e6:,.0f} MB",
        flush=True,
    )
    return figures


def retention(args):
    from analytics_app import retention as service

    database = Database(args.postgres, args.database)
    env = app_environment(database.url, secrets.token_urlsafe(48), **READ_SETTINGS)
    env["EVENT_RETENTION_DAYS"] = str(args.keep_days)
    params = Params(args.events, args.users, args.days, 1, today_utc().isoformat())
    load = ensure_events(database, env, params)
    copy = Database(args.postgres, f"{args.database}_delete")
    copy.drop()
    began = time.perf_counter()
    copy._admin(f'CREATE DATABASE "{copy.name}" TEMPLATE "{database.name}"')
    print(f"copied the database in {time.perf_counter() - began:.1f} s", flush=True)
    first_day = datetime.fromisoformat(params.today).replace(tzinfo=UTC) - timedelta(
        days=params.days - 1
    )
    delete_cutoff = first_day + timedelta(days=args.delete_days)
    result = {
        "data": {**load, **asdict(params)},
        "keep_days": args.keep_days,
        "delete_days": args.delete_days,
    }
    try:
        print(
            f"batched DELETE of the oldest {args.delete_days} days,"
            f" {service.BATCH_SIZE:,} rows a transaction:",
            flush=True,
        )
        result["batched_delete"] = _timed_cleanup(
            copy, env, lambda: service.delete_events_in_batches(delete_cutoff)
        )
        print("the hourly cleanup: partitions dropped, batches at the edge:", flush=True)
        result["partition_drop"] = _timed_cleanup(
            database, env, lambda: service.clean_up()["events"]
        )
        for how in ("batched_delete", "partition_drop"):
            figures = result[how]
            per_million = 1e6 / max(figures["events_deleted"], 1)
            figures["seconds_per_million"] = round(figures["seconds"] * per_million, 2)
            figures["wal_bytes_per_million"] = round(figures["wal_bytes"] * per_million)
        print(
            "  per million events: batched DELETE"
            f" {result['batched_delete']['seconds_per_million']:.1f} s,"
            f" {result['batched_delete']['wal_bytes_per_million'] / 1e6:,.0f} MB WAL;"
            f" partitions {result['partition_drop']['seconds_per_million']:.2f} s,"
            f" {result['partition_drop']['wal_bytes_per_million'] / 1e6:,.1f} MB WAL",
            flush=True,
        )
    finally:
        copy.drop()
        if not args.keep:
            database.drop()
    return result


_FILL_FLAT = """
INSERT INTO events (client_id, ts, user_id, type, src, payload)
SELECT md5(i::text)::uuid::text, now() - make_interval(secs => i * 0.7),
       'user-' || (i %% 50000), 'page_view', 'web_app',
       jsonb_build_object('page', '/p/' || (i %% 100), 'session_id', 's' || (i / 64))
FROM generate_series(1, %s) AS i
"""


def convert(args):
    """Time migration 0009 on a filled plain table."""
    from flask_migrate import upgrade

    from analytics_app import create_app

    database = Database(args.postgres, f"{args.database}_convert")
    database.recreate()
    try:
        env = app_environment(database.url, secrets.token_urlsafe(48), **READ_SETTINGS)
        app = create_app(env)
        migrations = str(ROOT / "migrations")
        with app.app_context():
            upgrade(directory=migrations, revision="0008")
            with database.connect(autocommit=True) as connection:
                connection.execute(_FILL_FLAT, (args.convert_events,))
                connection.execute("VACUUM ANALYZE events")
                lsn = connection.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
            began = time.perf_counter()
            upgrade(directory=migrations, revision="0009")
            seconds = time.perf_counter() - began
            from analytics_app.extensions import db

            db.engine.dispose()
        wal = _wal_since(database, lsn)
    finally:
        database.drop()
    print(f"  {args.convert_events:,} events converted in {seconds:.1f} s, WAL {wal / 1e6:,.0f} MB")
    return {"events": args.convert_events, "seconds": round(seconds, 2), "wal_bytes": wal}


def _timed_reports(port, token, repeat):
    today = today_utc()
    paths = {
        "dau_series_30d": f"/api/analytics/reports/dau?start={today - timedelta(days=29)}"
        f"&end={today}",
        "engagement_7d": f"/api/analytics/reports/engagement?start={today - timedelta(days=6)}"
        f"&end={today}",
        "dau_today": f"/api/analytics/reports/dau?date={today}",
    }
    times = {name: [] for name in paths}
    answers = {}
    for _ in range(repeat):
        for name, path in paths.items():
            status, body, seconds = get(port, path, token)
            if status != 200:
                raise RuntimeError(f"GET {path}: {status} {body[:200]!r}")
            times[name].append(seconds)
            answers[name] = json.loads(body)
    return times, answers


def replica(args):
    pair = StreamingPair()
    if not pair.available:
        sys.exit("PostgreSQL's server binaries (pg_basebackup) are needed")
    pair.start()
    try:
        database = Database(pair.url("primary").rsplit("/", 1)[0], "analytics")
        secret = secrets.token_urlsafe(48)
        env = app_environment(database.url, secret, **READ_SETTINGS)
        params = Params(args.replica_events, args.users // 10, 30, 1, today_utc().isoformat())
        load = ensure_events(database, env, params)
        with database.connect(autocommit=True) as connection:
            connection.execute("CHECKPOINT")
        replica_url = pair.url("replica", "analytics")
        apps = {"primary": env, "replica": {**env, "REPORT_DATABASE_URL": replica_url}}
        token = read_token(secret)
        logs = ROOT / "bench" / "results"
        times = {which: {} for which in apps}
        answers = {}
        for which, app_env in apps.items():  # warm both servers' caches first
            port = free_port()
            with gunicorn(app_env, logs / f"growth-{which}.log", port, workers=1):
                _timed_reports(port, token, 2)
        for round_ in range(2):  # alternating halves, so load drifts hit both alike
            for which, app_env in apps.items():
                port = free_port()
                with gunicorn(app_env, logs / f"growth-{which}.log", port, workers=1):
                    took, answers[which] = _timed_reports(port, token, args.repeat // 2)
                for name, seconds in took.items():
                    times[which].setdefault(name, []).extend(seconds)
            print(f"round {round_ + 1} done", flush=True)
        if answers["primary"] != answers["replica"]:
            raise RuntimeError("the replica's answers differ from the primary's")
        figures = {which: {n: summary(s) for n, s in by.items()} for which, by in times.items()}
        for name in figures["primary"]:
            p, r = figures["primary"][name], figures["replica"][name]
            print(
                f"  {name:<16} primary {p['median_ms']:.1f} ms (p95 {p['p95_ms']:.1f}),"
                f" replica {r['median_ms']:.1f} ms (p95 {r['p95_ms']:.1f})",
                flush=True,
            )
        return {"data": {**load, **asdict(params)}, "latency": figures}
    finally:
        pair.stop()


def main(argv=None):
    args = parse_args(argv)
    load = os.getloadavg()[0]
    print(f"growth bench ({args.what}) {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load {load:.2f}")
    result = {"retention": retention, "convert": convert, "replica": replica}[args.what](args)
    result.update(
        machine=machine(), load_before=round(load, 2), load_after=round(os.getloadavg()[0], 2)
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

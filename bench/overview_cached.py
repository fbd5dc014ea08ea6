"""The signed-in overview at 10 M events with the report cache off and on: whether the page
carrying its cached panels pays off where the reports are costly.

    .venv/bin/python bench/reports.py --database analytics_bench_reports   # keeps its data
    .venv/bin/python bench/overview_cached.py --database analytics_bench_reports

Reuses the events, rollups and dashboard user that ``bench/reports.py`` leaves in its database
(run it without ``--drop`` first). For each setting (``REPORT_CACHE_SECONDS`` 0, then 300,
Redis flushed) it serves the app as production does (gunicorn, 4 workers) and times, like
``bench/reports.py``, the overview's page and then every ``hx-get`` in it, one after the
other: the first load, then the median of ``--loads`` more; then the page alone. With the
cache on, the loads after the first get a page holding every cached panel, and ask only for
the recent events and the split-by table. Prints one line per setting, then one JSON object.
"""

import argparse
import json
import secrets
import statistics
import sys

import _report_endpoints as endpoints
import redis
from _services import RESULTS, app_environment, free_port, gunicorn, stop_on_signals


def overview_loads(base, loads):
    """(first load, later loads' median, their fragment counts, page alone median), in ms."""
    session = endpoints.signed_in(base)
    errors = []
    first, *rest = [endpoints.load_overview(session, base, errors) for _ in range(1 + loads)]
    if errors:
        raise RuntimeError(f"the overview answered errors: {errors}")
    alone = []
    for _ in range(10):
        _, page_seconds, _ = endpoints.load_overview(session, base, errors)
        alone.append(page_seconds)
    ms = 1e3
    return (
        first[0] * ms,
        statistics.median(seconds for seconds, _, _ in rest) * ms,
        sorted({len(took) for _, _, took in rest}),
        statistics.median(alone) * ms,
    )


def main():
    stop_on_signals()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="analytics_bench_reports")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/9")
    parser.add_argument("--loads", type=int, default=5)
    args = parser.parse_args()
    url = f"{args.postgres}/{args.database}"
    results = {}
    for seconds in ("0", "300"):
        redis.Redis.from_url(args.redis).flushdb()
        env = app_environment(
            url,
            secrets.token_urlsafe(48),
            args.redis,
            LOG_LEVEL="WARNING",
            METRICS_BIND="",  # no metrics listener: its port may be another server's
            REPORT_TIMEZONE="UTC",
            REPORT_CACHE_SECONDS=seconds,
        )
        port, log = free_port(), RESULTS / "gunicorn-overview-cached.log"
        options = ["-c", "python:analytics_app.gunicorn_conf", "--timeout", "600"]
        with gunicorn(env, log, port, workers=4, options=options):
            first, later, fragments, alone = overview_loads(f"http://127.0.0.1:{port}", args.loads)
        print(
            f"REPORT_CACHE_SECONDS={seconds}: first load {first:.0f} ms; later loads median"
            f" {later:.1f} ms ({'/'.join(map(str, fragments))} fragments each);"
            f" the page alone {alone:.1f} ms",
            flush=True,
        )
        results[f"cache_{seconds}"] = {
            "first_ms": round(first, 1),
            "later_median_ms": round(later, 1),
            "fragments": fragments,
            "page_alone_ms": round(alone, 1),
        }
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Fuzz the API from its own OpenAPI document with schemathesis: no 5xx, every response as
documented.

    .venv/bin/python bench/fuzz.py [--seconds 120] [--postgres postgresql://postgres@127.0.0.1:5432]

Starts the app under gunicorn on a scratch database (``analytics_fuzz``) with a little demo data,
mints an admin token (so every route is reachable), and runs ``schemathesis run`` with every
check except ``positive_data_acceptance``: the API refuses some schema-valid input on purpose
(a time zone that does not exist, an event older than the retention window), rules JSON Schema
cannot state. The last line printed is one JSON object with the outcome.
"""

import argparse
import json
import re
import secrets
import subprocess
import sys

from _services import BIN, RESULTS, ROOT, Database, app_environment, gunicorn, migrate

DATABASE = "analytics_fuzz"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=120, help="schemathesis time budget")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--port", type=int, default=8093)
    args = parser.parse_args()

    database = Database(args.postgres, DATABASE)
    database.recreate()
    env = app_environment(
        database.url,
        secrets.token_urlsafe(48),
        args.redis,
        HUEY_IMMEDIATE="true",
        LOG_LEVEL="WARNING",
        EXPORT_DIR=str(ROOT / "instance/fuzz"),
    )
    try:
        migrate(env)
        flask = [BIN / "flask", "--app", "wsgi", "analytics"]
        subprocess.run(
            [*flask, "demo", "--users", "40", "--days", "10"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        token = subprocess.run(
            [*flask, "token", "create", "--sub", "fuzz", "--scope", "analytics:admin"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        log = RESULTS / "fuzz-gunicorn.log"
        production = ["-c", "python:analytics_app.gunicorn_conf"]
        with gunicorn(env, log, args.port, 2, options=production):
            run = subprocess.run(
                [
                    BIN / "schemathesis",
                    "run",
                    f"http://127.0.0.1:{args.port}/api/analytics/openapi.json",
                    "--header",
                    f"Authorization: Bearer {token}",
                    "--checks",
                    "all",
                    "--exclude-checks",
                    "positive_data_acceptance",
                    "--max-time",
                    str(args.seconds),
                    "--workers",
                    "2",
                    "--request-timeout",
                    "30",
                ],
                cwd=ROOT,
                capture_output=True,
                text=True,
            )
        print(run.stdout[-6000:])
        server_errors = log.read_text().count('"unhandled error"')
    finally:
        database.drop()
    cases = re.search(r"(\d+) generated", run.stdout)
    failures = re.search(r"(\d+) unique failures?", run.stdout)
    summary = {
        "test_cases": int(cases.group(1)) if cases else None,
        "failures": int(failures.group(1)) if failures else 0,
        "server_errors_logged": server_errors,
        "schemathesis_exit_code": run.returncode,
        "seconds": args.seconds,
    }
    print(json.dumps(summary))
    return 0 if run.returncode == 0 and server_errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

"""Fuzz every route for server errors: the API from its OpenAPI document, the dashboard from the
app's URL map, under the production gunicorn config.

    .venv/bin/python bench/fuzz.py [--seconds 120] [--examples 200] [--postgres postgresql://…]

Starts the app on a scratch database (``analytics_fuzz``) with a little demo data, mints an
admin token and makes a dashboard admin (so every route is reachable), then:

1. ``schemathesis run`` with every check except ``positive_data_acceptance`` (the API refuses
   some schema-valid input on purpose: a time zone that does not exist, an event older than the
   retention window, rules JSON Schema cannot state), for ``--seconds``;
2. the test suite's drivers (tests/fuzzing.py) with a large budget: ``--examples`` positive and
   negative cases per operation with boundary dates, times, zones and integers, and the sweep
   of every URL-map route (the dashboard signed in) with every input of its pools and invented
   HTTP methods.

It counts the server errors each part saw and the ``unhandled error`` lines gunicorn's workers
logged. The last line printed is one JSON object with the outcome.
"""

import argparse
import json
import re
import secrets
import subprocess
import sys
import time

import requests
from _services import BIN, RESULTS, ROOT, Database, app_environment, gunicorn, migrate

sys.path.insert(0, str(ROOT / "tests"))
from fuzzing import fuzz_operations, sign_in, sweep_routes

DATABASE = "analytics_fuzz"
ADMIN_EMAIL = "fuzz@example.com"


class PlainHttpSession(requests.Session):
    """A session that sends the dashboard's Secure cookie over the bench's plain HTTP too."""

    def prepare_request(self, request):
        for cookie in self.cookies:
            cookie.secure = False
        return super().prepare_request(request)


def flask(env, *arguments):
    command = [BIN / "flask", "--app", "wsgi", "analytics", *arguments]
    done = subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    return done.stdout.strip()


def schemathesis_cli(url, token, seconds):
    """Run schemathesis' own phases (examples, coverage, fuzzing, stateful) with all checks."""
    run = subprocess.run(
        [
            BIN / "schemathesis",
            "run",
            f"{url}/api/analytics/openapi.json",
            "--header",
            f"Authorization: Bearer {token}",
            "--checks",
            "all",
            "--exclude-checks",
            "positive_data_acceptance",
            "--max-time",
            str(seconds),
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
    cases = re.search(r"(\d+) generated", run.stdout)
    failures = re.search(r"(\d+) unique failures?", run.stdout)
    return {
        "test_cases": int(cases.group(1)) if cases else None,
        "failures": int(failures.group(1)) if failures else 0,
        "exit_code": run.returncode,
    }


def project_drivers(env, url, token, password, examples):
    """The test suite's drivers with a large budget; return their server errors."""
    from analytics_app import create_app

    headers = {"Authorization": f"Bearer {token}"}
    started = time.monotonic()
    operations = fuzz_operations(url, headers, examples)
    operations_seconds = time.monotonic() - started

    job = requests.post(f"{url}/api/analytics/exports", json={}, headers=headers, timeout=60)
    session = PlainHttpSession()
    csrf_token = sign_in(session, url, ADMIN_EMAIL, password)
    session.headers.update(headers)
    started = time.monotonic()
    swept = sweep_routes(
        create_app(env),
        session,
        url,
        skip={"dashboard.account.sign_out"},
        known={"PublicIdConverter": [job.json()["id"]]},
        csrf_token=csrf_token,
    )
    for error in [*operations, *swept]:
        print("server error:", error)
    return {
        "operations_server_errors": len(operations),
        "operations_seconds": round(operations_seconds, 1),
        "sweep_server_errors": len(swept),
        "sweep_seconds": round(time.monotonic() - started, 1),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=120, help="schemathesis CLI time budget")
    parser.add_argument(
        "--examples", type=int, default=200, help="cases per operation and generation mode"
    )
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
        # The fuzzing asks for many exports at once, and signs in wrongly on purpose.
        EXPORT_CONCURRENT_JOBS="1000",
    )
    password = secrets.token_urlsafe(18)
    try:
        migrate(env)
        flask(env, "demo", "--users", "40", "--days", "10")
        token = flask(env, "token", "create", "--sub", "fuzz", "--scope", "analytics:admin")
        flask(env, "user", "create", "--email", ADMIN_EMAIL, "--admin", "--password", password)
        log = RESULTS / "fuzz-gunicorn.log"
        production = ["-c", "python:analytics_app.gunicorn_conf"]
        url = f"http://127.0.0.1:{args.port}"
        with gunicorn(env, log, args.port, 2, options=production):
            cli = schemathesis_cli(url, token, args.seconds)
            drivers = project_drivers(env, url, token, password, args.examples)
        server_errors = log.read_text().count('"unhandled error"')
    finally:
        database.drop()
    summary = {
        "schemathesis": cli,
        **drivers,
        "server_errors_logged": server_errors,
        "seconds": args.seconds,
        "examples": args.examples,
    }
    print(json.dumps(summary))
    found = server_errors + drivers["operations_server_errors"] + drivers["sweep_server_errors"]
    return 0 if cli["exit_code"] == 0 and found == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

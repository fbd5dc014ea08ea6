"""Fixtures: every test runs on both backends, over real HTTP to a real server.

* ``postgresql``: a throwaway database on the local PostgreSQL server, with Redis (db 15) for
  the rate limiter, as in production;
* ``sqlite``: the embedded default, a file database and no Redis.

Set ``TEST_POSTGRES_URL`` / ``TEST_REDIS_URL`` to use other servers. Without a reachable
PostgreSQL the ``postgresql`` cases are skipped, except under CI (``CI=true``), where they fail.
"""

import os
import uuid

import psycopg
import pytest
import redis
from flask_migrate import upgrade
from sqlalchemy import create_engine, text

from analytics_app import ROOT, create_app
from analytics_app.config import database_url
from analytics_app.extensions import db

from dataset import store
from helpers import SECRET, Client, LiveServer, make_token

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
TABLES = (
    "events",
    "metrics",
    "ingest_audit",
    "rollup_marks",
    "live_days",
    "live_day_users",
    "user_days",
    "users_seen",
    "session_days",
    "page_days",
    "erased_users",
    "erasure_jobs",
    "export_jobs",
    "dashboard_sessions",
    "dashboard_users",
    "api_tokens",
)
# Client ids of partitioned events, the breakdown and the funnel rollups: SQLite has none.
POSTGRES_TABLES = (
    "event_ids",
    "user_numbers",
    "breakdown_bits",
    "breakdown_covers",
    "funnel_kinds",
    "funnel_days",
    "funnel_covers",
)


def _unavailable(reason):
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI requires PostgreSQL and Redis)")
    pytest.skip(reason)


def postgres_database():
    """Create a fresh database; return its URL and a function that drops it."""
    name = f"analytics_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        _unavailable(f"PostgreSQL unreachable at {POSTGRES_URL}: {error}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        _unavailable(f"Redis unreachable at {REDIS_URL}: {error}")
    url = POSTGRES_URL.rsplit("/", 1)[0] + "/" + name

    def drop():
        with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return url, drop


@pytest.fixture(scope="session", params=["postgresql", "sqlite"])
def backend(request, tmp_path_factory):
    """Environment of one migrated database (and Redis, with PostgreSQL)."""
    if request.param == "postgresql":
        url, drop = postgres_database()
        env = {"DATABASE_URL": url, "REDIS_URL": REDIS_URL}
    else:
        path = tmp_path_factory.mktemp("sqlite") / "analytics.db"
        env, drop = {"DATABASE_URL": f"sqlite:///{path}", "REDIS_URL": ""}, None
    app = create_app(base_env(env))
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        db.engine.dispose()
    yield {"name": request.param, **env}
    if drop:
        drop()


@pytest.fixture(scope="session")
def engine(backend):
    """A plain engine on the test database, for set-up and clean-up outside any app."""
    engine = create_engine(database_url(backend["DATABASE_URL"]))
    yield engine
    engine.dispose()


def base_env(extra=None):
    """The environment every test app starts from."""
    return {
        "APP_ENV": "test",
        "JWT_SECRET_KEY": SECRET,
        "RATE_LIMIT_PER_MINUTE": "100000",
        "LOG_LEVEL": "WARNING",
        "HUEY_IMMEDIATE": "true",
        "REPORT_CACHE_SECONDS": "0",
        **(extra or {}),
    }


@pytest.fixture
def make_app(backend, tmp_path):
    """Build an app on the session's database, with environment overrides, its database
    holding ``rows`` (``dataset.Row``) when given."""
    apps = []

    def factory(rows=(), **overrides):
        env = {**backend, "EXPORT_DIR": str(tmp_path / "exports"), **overrides}
        app = create_app(base_env(env))
        apps.append(app)
        if rows:
            with app.app_context():
                store(rows)
        return app

    yield factory
    for app in apps:
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture(autouse=True)
def _empty_tables(request):
    """Start every test that uses a database from empty tables."""
    if "backend" not in request.fixturenames:
        return
    backend, engine = request.getfixturevalue("backend"), request.getfixturevalue("engine")
    with engine.begin() as connection:
        if backend["name"] == "postgresql":
            tables = ", ".join(TABLES + POSTGRES_TABLES)
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY"))
        else:
            for table in TABLES:
                connection.execute(text(f"DELETE FROM {table}"))
        # One row that stays: nothing is rolled up yet.
        connection.execute(text("UPDATE rollup_boundary SET covered_before = NULL"))


@pytest.fixture
def serve():
    """Start a live server for an app; every server is stopped after the test."""
    servers = []

    def start(app):
        server = LiveServer(app)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def client(app, serve):
    """An HTTP client for the default test app, holding an ingest-only token."""
    return Client(serve(app).url, make_token())

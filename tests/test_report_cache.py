"""Hot reports are cached in Redis for REPORT_CACHE_SECONDS; without Redis, always fresh."""

from helpers import Client, make_event, make_token

READ = make_token(scope="analytics:read")


def dau(client):
    return client.get("/api/analytics/reports/dau").json()["dau"]


def test_reports_are_cached_for_their_lifetime_with_redis_only(make_app, serve, backend):
    app = make_app(REPORT_CACHE_SECONDS="60")
    client = Client(serve(app).url, READ)
    assert dau(client) == 0
    client.ingest([make_event(user_id="cached-user")])
    cached = backend["name"] == "postgresql"  # the PostgreSQL backend runs with Redis
    assert dau(client) == (0 if cached else 1)
    if cached:
        app.extensions["redis"].flushdb()
        assert dau(client) == 1


def test_reports_work_when_the_cache_is_down(make_app, serve):
    app = make_app(REPORT_CACHE_SECONDS="60", REDIS_URL="redis://127.0.0.1:1/0")
    client = Client(serve(app).url, READ)
    client.ingest([make_event()])
    assert dau(client) == 1

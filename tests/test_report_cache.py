"""Cached reports reflect every write answered before they were asked (ingest, late events,
erasure, rollups, retention), and repeated reads of unchanged figures come from the cache:
Redis on the PostgreSQL backend, the process's own store on SQLite."""

from datetime import UTC, datetime, timedelta

import pytest

from analytics_app.extensions import db
from analytics_app.metrics import REPORT_CACHE
from analytics_app.reports import cache, service
from analytics_app.reports.range import ReportRange
from analytics_app.reports.stored import rolled_zones
from analytics_app.retention import clean_up
from analytics_app.rollup import run

from dataset import Row, store
from helpers import Client, make_event, make_token

ADMIN = make_token(scope="analytics:admin")  # reads, and erases


@pytest.fixture
def app(make_app):
    app = make_app(REPORT_CACHE_SECONDS="300")
    if redis := app.extensions.get("redis"):
        redis.flushdb()  # the test Redis database outlives the tables emptied between tests
    return app


@pytest.fixture
def client(app, serve):
    return Client(serve(app).url, ADMIN)


def hits():
    return REPORT_CACHE.labels("hit")._value.get()


def utc_today():
    return datetime.now(UTC).date()


def at_noon(day):
    return datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=12)


def event_on(day, user_id, **overrides):
    return make_event(ts=at_noon(day).isoformat(), user_id=user_id, **overrides)


def get(client, path, **params):
    response = client.get(f"/api/analytics/reports/{path}", params={"tz": "UTC", **params})
    assert response.status_code == 200, response.text
    return response.json()


def roll_up(app):
    with app.app_context():
        run.roll_up(rolled_zones(app.config))
        db.session.remove()


FIGURES = {
    "dau today": lambda c: get(c, "dau", date=utc_today())["dau"],
    "dau series": lambda c: get(c, "dau", start=utc_today(), end=utc_today())["series"][0]["dau"],
    "active users": lambda c: get(c, "active-users")["series"][-1]["mau"],
    "engagement": lambda c: get(c, "engagement")["events"],
}


@pytest.mark.parametrize("figure", FIGURES)
def test_every_report_reflects_each_batch_answered_before_it(client, figure):
    read = FIGURES[figure]
    assert read(client) == 0
    for n in range(1, 4):
        assert client.ingest([make_event(user_id=f"reader-{n}")]).status_code == 200
        assert read(client) == n
        assert read(client) == n


def test_repeated_reads_of_unchanged_figures_come_from_the_cache(client):
    client.ingest([make_event()])
    before = hits()
    for _ in range(3):
        assert get(client, "engagement")["events"] == 1
    assert hits() == before + 2


def test_finished_days_stay_cached_while_today_is_ingested_until_a_late_event(app, client):
    yesterday = utc_today() - timedelta(days=1)
    client.ingest([event_on(yesterday, "early")])
    roll_up(app)  # the boundary moves past yesterday
    assert get(client, "dau", date=yesterday)["dau"] == 1

    client.ingest([make_event(user_id="today-only")])
    before = hits()
    assert get(client, "dau", date=yesterday)["dau"] == 1
    assert hits() == before + 1

    client.ingest([event_on(yesterday, "late")])  # before the boundary: marked
    assert get(client, "dau", date=yesterday)["dau"] == 2
    roll_up(app)  # consumes the mark: the figure must not fall back to an older entry
    assert get(client, "dau", date=yesterday)["dau"] == 2


def test_an_erasure_changes_cached_reports_at_once(app, client):
    yesterday = utc_today() - timedelta(days=1)
    client.ingest([event_on(yesterday, "alice"), event_on(yesterday, "bob")])
    roll_up(app)
    assert get(client, "dau", date=yesterday)["dau"] == 2
    assert client.request("DELETE", "/api/analytics/users/alice").status_code == 202
    assert get(client, "dau", date=yesterday)["dau"] == 1


def test_events_deleted_by_retention_leave_cached_reports(app, client):
    old = utc_today() - timedelta(days=100)
    with app.app_context():
        store([Row(at_noon(old), "ancient", "page_view", None, {})])
        db.session.remove()
    assert get(client, "dau", date=old)["dau"] == 1
    with app.app_context():
        assert clean_up()["events"] == 1
        db.session.remove()
    assert get(client, "dau", date=old)["dau"] == 0


def test_reports_work_when_the_cache_is_down(make_app, serve):
    app = make_app(REPORT_CACHE_SECONDS="60", REDIS_URL="redis://127.0.0.1:1/0")
    client = Client(serve(app).url, ADMIN)
    client.ingest([make_event()])
    assert get(client, "dau", date=utc_today())["dau"] == 1


def test_only_from_the_cache_a_report_is_read_or_refused_never_computed(app, make_app, client):
    today = utc_today().isoformat()
    rng = ReportRange.from_params({"tz": "UTC", "start": today, "end": today})
    with app.app_context():
        with pytest.raises(cache.NotCached), cache.cached_only():
            service.dau(rng)  # not asked yet
        computed = service.dau(rng)
        with cache.cached_only():
            assert service.dau(rng) == computed
        db.session.remove()
    assert client.ingest([make_event()]).status_code == 200
    away = make_app(REPORT_CACHE_SECONDS="60", REDIS_URL="redis://127.0.0.1:1/0")
    for changed in (app, away):  # a write since; the cache unreachable
        with changed.app_context():
            with pytest.raises(cache.NotCached), cache.cached_only():
                service.dau(rng)
            db.session.remove()


def test_emptied_tables_do_not_bring_back_cached_figures(app, client):
    """Generations start at random values: counting again from empty cannot meet the key of a
    result cached before (tables emptied, or a database restored from a backup)."""
    assert client.ingest([make_event(user_id="before")]).status_code == 200
    assert FIGURES["dau today"](client) == 1
    with app.app_context():
        for table in ("events", "report_generations"):
            db.session.execute(db.text(f"DELETE FROM {table}"))
        db.session.commit()
        db.session.remove()
    events = [make_event(user_id=user) for user in ("after-1", "after-2")]
    assert client.ingest(events).status_code == 200
    assert FIGURES["dau today"](client) == 2

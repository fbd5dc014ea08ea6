"""Reports equal an independent computation, from raw events and from rollups, in UTC and in
a zone with daylight saving, and stay exact after a late event."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from analytics_app.extensions import db
from analytics_app.reports.stored import read_marks, rolled_zones
from analytics_app.rollup import live, run

from dataset import FIRST_DAY, LAST_DAY, Expected, Row, generate, store
from helpers import make_token, query, today
from report_fixtures import app_fixture, client_fixture  # noqa: F401 - fixtures, by name

ZONES = ["UTC", "America/New_York", "Asia/Kolkata"]  # rolled, rolled with DST, raw only


@pytest.fixture(scope="module")
def rows():
    return generate()


def roll_up(app):
    with app.app_context():
        run.roll_up(rolled_zones(app.config), FIRST_DAY - timedelta(days=1), LAST_DAY)
        db.session.remove()


def report(client, name, **params):
    response = client.get(f"/api/analytics/reports/{name}", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def assert_dau_series(client, rows, tz, start=FIRST_DAY, end=LAST_DAY):
    expected = Expected(rows, tz)
    series = report(client, "dau", start=start, end=end, tz=tz)["series"]
    assert [(p["date"], p["dau"]) for p in series] == [
        ((start + timedelta(days=n)).isoformat(), expected.dau(start + timedelta(days=n)))
        for n in range((end - start).days + 1)
    ]


def assert_active_users(client, rows, tz, start=FIRST_DAY, end=LAST_DAY):
    expected = Expected(rows, tz)
    series = report(client, "active-users", start=start, end=end, tz=tz)["series"]
    for point in series:
        day = date.fromisoformat(point["date"])
        assert (point["dau"], point["wau"], point["mau"]) == (
            expected.dau(day),
            expected.window(day, 7),
            expected.window(day, 30),
        ), day


@pytest.mark.parametrize("tz", ZONES)
def test_dau_series_matches_before_and_after_rollup(app, client, rows, tz):
    assert_dau_series(client, rows, tz)
    roll_up(app)
    assert_dau_series(client, rows, tz)


@pytest.mark.parametrize("tz", ZONES)
def test_active_users_match_before_and_after_rollup(app, client, rows, tz):
    assert_active_users(client, rows, tz)
    roll_up(app)
    assert_active_users(client, rows, tz)


def test_single_day_has_the_seed_shape_with_timezone_and_dst_period(client, rows):
    for day, period in [(date(2026, 11, 1), "25h"), (date(2026, 11, 2), "24h")]:
        body = report(client, "dau", date=day, tz="America/New_York")
        assert body == {
            "dau": Expected(rows, "America/New_York").dau(day),
            "date": day.isoformat(),
            "period": period,
            "timezone": "America/New_York",
        }
    assert report(client, "dau", date="2026-10-25", tz="Europe/Berlin")["period"] == "25h"
    assert report(client, "dau", date="2026-03-08", tz="America/New_York")["period"] == "23h"


def test_day_boundaries_are_local_midnights(client, rows):
    """An event at local midnight counts for the new day; one a microsecond before, the old."""
    tz = "America/New_York"
    day = date(2026, 11, 1)
    before = report(client, "dau", date=day - timedelta(days=1), tz=tz)["dau"]
    on = report(client, "dau", date=day, tz=tz)["dau"]
    expected = Expected(rows, tz)
    assert (before, on) == (expected.dau(day - timedelta(days=1)), expected.dau(day))
    edge_days = expected.users_by_day()
    offset = (day - FIRST_DAY).days
    assert f"edge-{offset}" in edge_days[day]
    assert f"edge-before-{offset}" in edge_days[day - timedelta(days=1)]


@pytest.mark.parametrize(
    "filters", [{"type": "button_click"}, {"src": "ios_app"}, {"user_id": "user-007"}]
)
def test_filtered_dau_matches(app, client, rows, filters):
    roll_up(app)
    expected = Expected(rows, "UTC")
    series = report(client, "dau", start=FIRST_DAY, end=LAST_DAY, tz="UTC", **filters)["series"]
    for point in series:
        assert point["dau"] == expected.dau(date.fromisoformat(point["date"]), **filters)


@pytest.mark.parametrize("tz", ["UTC", "America/New_York"])
@pytest.mark.parametrize(
    "filters", [{}, {"type": "page_view"}, {"src": "web_app"}, {"user_id": "user-010"}]
)
def test_engagement_matches_before_and_after_rollup(app, client, rows, tz, filters):
    start, end = date(2026, 10, 24), date(2026, 11, 7)
    expected = Expected(rows, tz).engagement(start, end, **filters)
    for _ in range(2):
        body = report(client, "engagement", start=start, end=end, tz=tz, **filters)
        assert body["events"] == expected["events"]
        assert body["users"] == expected["users"]
        assert body["by_type"] == expected["by_type"]
        assert body["by_source"] == expected["by_source"]
        count, average = expected["sessions"]
        assert body["sessions"]["count"] == count
        assert body["sessions"]["average_seconds"] == pytest.approx(average, abs=0.01)
        assert body["top_pages"] == expected["top_pages"]
        assert body["events_per_user"] == pytest.approx(
            expected["events"] / expected["users"] if expected["users"] else 0, abs=1e-4
        )
        roll_up(app)


@pytest.mark.parametrize("tz", ["UTC", "America/New_York"])
def test_retention_matches(client, rows, tz):
    start, end = date(2026, 10, 18), date(2026, 10, 31)
    expected = Expected(rows, tz).retention(start, end)
    body = report(client, "retention", start=start, end=end, tz=tz)
    for cohort in body["cohorts"]:
        new_users, retained = expected[date.fromisoformat(cohort["date"])]
        assert cohort["new_users"] == new_users
        for offset in (1, 7, 30):
            figure = cohort[f"day_{offset}"]
            if date.fromisoformat(cohort["date"]) + timedelta(days=offset) >= today(tz):
                assert figure == {"users": None, "rate": None}  # that day is not over yet
                continue
            assert figure["users"] == retained[offset], (cohort["date"], offset)
            assert figure["rate"] == (round(retained[offset] / new_users, 4) if new_users else None)


def test_finished_days_are_served_from_rollups(app, client):
    roll_up(app)
    day = date(2026, 11, 3)
    with app.app_context():
        db.session.execute(
            db.text("UPDATE metrics SET value = 999999 WHERE name = 'dau' AND date = :d"),
            {"d": day},
        )
        db.session.commit()
    assert report(client, "dau", date=day, tz="UTC")["dau"] == 999999
    assert report(client, "dau", date=day, tz="Asia/Kolkata")["dau"] != 999999
    roll_up(app)
    assert report(client, "dau", date=day, tz="UTC")["dau"] != 999999


def test_a_late_event_is_exact_at_once_and_after_the_next_rollup(app, client, rows):
    roll_up(app)
    day = date(2026, 11, 5)
    late = rows[0].__class__(
        ts=rows[0].ts.replace(year=2026, month=11, day=5, hour=12),
        user_id="late-user",
        type="video_play",
        src="web_app",
        payload={"session_id": "late"},
    )
    with app.app_context():
        store([late])
    everything = [*rows, late]
    for tz in ("UTC", "America/New_York"):
        assert_dau_series(client, everything, tz, day - timedelta(days=2), day + timedelta(days=2))
        assert_active_users(client, everything, tz, day, day + timedelta(days=8))
    with app.app_context():
        assert read_marks()
    roll_up(app)
    with app.app_context():
        assert not read_marks()
    for tz in ("UTC", "America/New_York"):
        assert_dau_series(client, everything, tz)
        assert_active_users(client, everything, tz)


@pytest.mark.parametrize(
    "params",
    [
        {"tz": "Mars/Olympus"},
        {"start": "2026-11-05", "end": "2026-11-01"},
        {"start": "2026-11-05"},
        {"date": "2026-11-05", "start": "2026-11-01", "end": "2026-11-05"},
        {"date": "2026-13-01"},
        {"start": "2024-01-01", "end": "2026-01-01"},
    ],
)
def test_bad_report_parameters_are_422(client, params):
    response = client.get("/api/analytics/reports/dau", params=params)
    assert response.status_code == 422
    assert response.json()["code"] == 422


REPORTS = ["dau", "active-users", "engagement", "retention", "events"]


@pytest.mark.parametrize("path", REPORTS)
@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"tz": "Mars/Olympus"}, "tz"),
        ({"start": "2026-11-05", "end": "2026-11-01"}, "start"),
        ({"start": "2024-01-01", "end": "2026-01-01"}, "end"),
        ({"start": "0001-01-01", "end": "0001-01-02", "tz": "Asia/Tokyo"}, "end start"),
        ({"start": "2026-11-01", "end": "9999-12-31"}, "end"),
        ({"start": "1969-12-31", "end": "1970-01-02"}, "start"),
        ({"timezone": "America/New_York"}, "timezone"),
        ({"start_date": "2026-11-01"}, "start_date"),
    ],
)
def test_a_bad_or_unknown_parameter_is_a_422_naming_it(client, path, params, named):
    if path == "events" and named == "end" and "2024-01-01" in params.values():
        pytest.skip("an export's range is as long as the data")
    response = client.get(f"/api/analytics/reports/{path}", params=params)
    assert response.status_code == 422, response.text
    assert sorted(response.json()["errors"]["query"]) == named.split()


@pytest.mark.parametrize(
    "params", [{"date": "9999-12-31"}, {"date": "0001-01-01", "tz": "Asia/Tokyo"}]
)
def test_dates_past_the_reportable_years_are_422_not_500(client, params):
    response = client.get("/api/analytics/reports/dau", params=params)
    assert response.status_code == 422
    assert response.json()["errors"]["query"] == {
        "date": ["dates run from 1970-01-01 to 2200-12-31"]
    }


@pytest.mark.parametrize("path", REPORTS)
@pytest.mark.parametrize(
    "params",
    [
        {"start": "1970-01-01", "end": "1970-01-01", "tz": "Asia/Tokyo"},
        {"start": "1970-01-01", "end": "1970-01-01", "tz": "America/Los_Angeles"},
    ],
)
def test_the_first_reportable_day_answers(client, path, params):
    response = client.get(f"/api/analytics/reports/{path}", params=params)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("path", ["dau", "active-users", "engagement", "retention"])
def test_reports_need_the_read_scope(client, path):
    url = f"/api/analytics/reports/{path}"
    assert client.get(url, token=None).status_code == 401
    assert client.get(url, token=make_token()).status_code == 403
    assert client.get(url, token=make_token(scope="analytics:admin")).status_code == 200


@pytest.mark.parametrize("path", ["active-users", "engagement", "retention"])
def test_a_range_reaching_back_years_is_refused_not_computed(client, path):
    response = client.get(f"/api/analytics/reports/{path}", params={"start": "2000-01-01"})
    assert response.status_code == 422
    assert "at most 366 days" in response.text


def todays_rows(users, now, tz):
    """Events today in ``tz`` for the given users, at least a second before ``now``."""
    midnight = datetime.combine(today(tz), datetime.min.time(), tzinfo=ZoneInfo(tz))
    rows = []
    for n, user in enumerate(users):
        moment = max(midnight.astimezone(UTC), now - timedelta(minutes=7 * n + 1))
        rows.append(Row(moment, user, "page_view", "web_app", {"page": "/"}))
    return rows


def live_dau(client, tz):
    return report(client, "dau", date=today(tz), tz=tz)["dau"]


@pytest.mark.parametrize("tz", ["UTC", "America/New_York"])
def test_todays_dau_is_exact_from_the_live_rollup(app, client, monkeypatch, tz):
    """Today's DAU is the stored count so far plus the users of newer events, and falls back
    to raw events when a late event reaches into the counted stretch."""
    monkeypatch.setattr(live, "LIVE_LAG", timedelta(0))
    now = datetime.now(UTC)
    seen = [f"today-{n}" for n in range(40)]
    with app.app_context():
        store(todays_rows(seen, now, tz))
    roll_up(app)
    assert live_dau(client, tz) == len(seen)

    with app.app_context():  # the figure really comes from the live rollup
        db.session.execute(db.text("UPDATE live_days SET users = users + 1000"))
        db.session.commit()
    assert live_dau(client, tz) == len(seen) + 1000

    later = datetime.now(UTC)  # after the first rollup ran
    with app.app_context():  # after the covered stretch: one new user, one already counted
        store([Row(later, user, "page_view", None, {}) for user in ("newcomer", seen[0])])
    assert live_dau(client, tz) == len(seen) + 1 + 1000

    with app.app_context():  # a late event inside the covered stretch: marked, counted raw
        store(todays_rows(["late-one"], now - timedelta(seconds=1), tz))
        assert read_marks()
    assert live_dau(client, tz) == len(seen) + 2

    roll_up(app)  # recounts today from midnight
    assert live_dau(client, tz) == len(seen) + 2
    stored = query(app, "SELECT users FROM live_days WHERE tz = :tz", tz=tz)
    assert stored == [(len(seen) + 2,)]


def test_the_live_rollup_adds_only_new_users(app, client, monkeypatch):
    monkeypatch.setattr(live, "LIVE_LAG", timedelta(0))
    with app.app_context():
        store(todays_rows(["a", "b"], datetime.now(UTC), "UTC"))
    roll_up(app)
    now = datetime.now(UTC)  # after the first rollup's covered stretch: nothing to mark
    with app.app_context():
        store([Row(now, user, "page_view", None, {}) for user in ("b", "c", "d")])
        assert not read_marks()
        # A recount would undo this; extending the stretch keeps it.
        db.session.execute(db.text("UPDATE live_days SET users = users + 100 WHERE tz = 'UTC'"))
        db.session.commit()
    roll_up(app)
    assert query(app, "SELECT users FROM live_days WHERE tz = 'UTC'") == [(104,)]
    users = query(app, "SELECT user_id FROM live_day_users WHERE tz = 'UTC' ORDER BY user_id")
    assert [u for (u,) in users] == ["a", "b", "c", "d"]


def test_live_counts_of_zones_no_longer_rolled_are_dropped(app, monkeypatch):
    monkeypatch.setattr(live, "LIVE_LAG", timedelta(0))
    with app.app_context():
        store(todays_rows(["a"], datetime.now(UTC), "UTC"))
        run.roll_up(["America/New_York", "UTC"])
        run.roll_up(["UTC"])
    assert query(app, "SELECT DISTINCT tz FROM live_days") == [("UTC",)]
    assert query(app, "SELECT DISTINCT tz FROM live_day_users") == [("UTC",)]

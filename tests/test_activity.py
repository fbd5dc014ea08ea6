"""The stored activity (users per day, first and last seen, sessions and page views per day)
answers exactly what raw events answer: after the rollup, after late events, a rerun, an
erasure and the metrics' retention, on both databases."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
import sqlalchemy as sa
from test_reports import assert_active_users, report

from analytics_app import erasure, retention
from analytics_app.extensions import db
from analytics_app.reports import activity, cohorts
from analytics_app.reports.periods import day_in, zone
from analytics_app.reports.range import ReportRange
from analytics_app.reports.stored import read_marks, rolled_zones
from analytics_app.rollup import activity as rollup_activity
from analytics_app.rollup import live, run

from dataset import FIRST_DAY, Expected, Row, generate, store
from helpers import query, today
from report_fixtures import app_fixture, client_fixture  # noqa: F401 - fixtures, by name

ZONES = ["UTC", "America/New_York"]
ACTIVITY = {
    "user_days": "SELECT date, tz, user_id FROM user_days",
    "users_seen": "SELECT tz, user_id, first_date, last_date FROM users_seen",
    "session_days": "SELECT date, tz, session_id, first_ts, last_ts, shared FROM session_days",
    "page_days": "SELECT date, tz, page, views FROM page_days",
    "metrics": "SELECT date, name, dimensions, value FROM metrics",
}


def recent_rows(now):
    """Yesterday and today: returning and new users, sessions across both zones' midnights,
    and a session id used again weeks later."""
    rows = []
    for tz in ZONES:
        midnight = day_in(today(tz), zone(tz)).start
        for moment in (midnight - timedelta(seconds=90), midnight + timedelta(seconds=60)):
            rows.append(Row(moment, "night-owl", "page_view", "web_app", {"session_id": tz}))
    for n in range(10):
        moment = now - timedelta(minutes=n + 1)
        payload = {"session_id": f"today-{n}", "page": "/"}
        rows.append(Row(moment, f"user-{n:03d}", "button_click", "ios_app", payload))
    for n in range(5):
        moment = now - timedelta(minutes=3 * n + 2)
        payload = {"session_id": f"new-{n}", "page": "/pricing"}
        rows.append(Row(moment, f"newcomer-{n}", "page_view", None, payload))
    noon = datetime.combine(now.date() - timedelta(days=1), time(12), tzinfo=UTC)
    for n in range(10, 20):
        rows.append(Row(noon, f"user-{n:03d}", "page_view", "web_app", {"page": "/courses"}))
    for moment in (noon, datetime(2026, 10, 20, 10, tzinfo=UTC)):
        payload = {"session_id": "reused", "page": "/help"}
        rows.append(Row(moment, "user-050", "page_view", "web_app", payload))
    return [row for row in rows if row.ts < now]


@pytest.fixture
def rows():
    return [*generate(users=120), *recent_rows(datetime.now(UTC))]


def roll_up(app, start=FIRST_DAY - timedelta(days=1)):
    with app.app_context():
        run.roll_up(rolled_zones(app.config), start)
        db.session.remove()


def ranges(tz):
    last = today(tz)
    return [
        (date(2026, 10, 24), date(2026, 11, 7)),
        (last - timedelta(days=29), last),
        (FIRST_DAY, last),
        (last - timedelta(days=1), last - timedelta(days=1)),
        (last, last),
        (FIRST_DAY - timedelta(days=20), FIRST_DAY + timedelta(days=3)),  # before any event
    ]


def assert_exact(client, rows, tz, spans=None):
    """Engagement, active users and retention equal the independent computation, over the
    ``spans`` (default: ``ranges(tz)``)."""
    expected = Expected(rows, tz)
    for start, end in spans or ranges(tz):
        body = report(client, "engagement", start=start, end=end, tz=tz)
        figures = expected.engagement(start, end)
        count, average = figures["sessions"]
        assert body["users"] == figures["users"], (start, end)
        assert body["events"] == figures["events"], (start, end)
        assert body["sessions"]["count"] == count, (start, end)
        assert body["sessions"]["average_seconds"] == pytest.approx(average, abs=0.01)
        assert body["top_pages"] == figures["top_pages"]
        cohorts = expected.retention(start, end)
        for cohort in report(client, "retention", start=start, end=end, tz=tz)["cohorts"]:
            day = date.fromisoformat(cohort["date"])
            new_users, retained = cohorts[day]
            assert cohort["new_users"] == new_users, day
            for offset in (1, 7, 30):
                if cohort[f"day_{offset}"]["users"] is not None:
                    assert cohort[f"day_{offset}"]["users"] == retained[offset], (day, offset)
    assert_active_users(client, rows, tz, today(tz) - timedelta(days=40), today(tz))


def stored_answers(marks, tz, spans):
    """Whether the stored activity answers every span, with no fallback to raw events (in an
    app context)."""
    for start, end in spans:
        rng = ReportRange(zone(tz), start, end)
        last = min(end + timedelta(days=30), today(tz) - timedelta(days=1))
        answers = [
            activity.range_users(rng, marks),
            activity.sessions(rng, marks),
            activity.top_pages(rng, marks),
            cohorts.retention(rng, last, (1, 7, 30), marks),
        ]
        if None in answers:
            return False
    return True


def answered_from_storage(app, tz):
    """Whether the stored activity answers every range and today's trailing count."""
    with app.app_context():
        marks = read_marks()
        if not stored_answers(marks, tz, ranges(tz)):
            return False
        day = day_in(today(tz), zone(tz))
        rng = ReportRange(zone(tz), day.date, day.date)
        return activity.trailing(rng, day, [30], marks)[30] is not None


def snapshot(app):
    """The stored rows of finished days (today's counted stretch grows with the clock)."""
    finished = min(today(tz) for tz in ZONES)
    return {
        name: sorted(map(str, query(app, f"SELECT * FROM ({sql}) t WHERE date < :d", d=finished)))
        for name, sql in ACTIVITY.items()
        if name != "users_seen"
    } | {"users_seen": sorted(map(str, query(app, ACTIVITY["users_seen"])))}


def assert_seen_is_min_and_max_of_days(app):
    seen = query(app, f"{ACTIVITY['users_seen']} ORDER BY 1, 2")
    days = query(
        app,
        "SELECT tz, user_id, min(date), max(date) FROM user_days GROUP BY tz, user_id"
        " ORDER BY 1, 2",
    )
    assert [tuple(map(str, row)) for row in seen] == [tuple(map(str, row)) for row in days]


@pytest.mark.parametrize("tz", ZONES)
def test_stored_activity_answers_exactly_what_raw_events_do(app, client, rows, tz):
    assert_exact(client, rows, tz)
    roll_up(app)
    assert answered_from_storage(app, tz)
    assert_exact(client, rows, tz)
    assert_seen_is_min_and_max_of_days(app)


def test_late_events_are_exact_at_once_and_after_the_next_rollup(app, client, rows):
    roll_up(app)
    yesterday = datetime.now(UTC) - timedelta(days=1)
    late = [
        # A user first seen earlier than stored, one brand new, a session of today's reaching
        # back into yesterday, a page seen anew.
        Row(datetime(2026, 10, 18, 9, tzinfo=UTC), "user-003", "page_view", None, {"page": "/"}),
        Row(datetime(2026, 10, 25, 9, tzinfo=UTC), "late-one", "video_play", "ios_app", {}),
        Row(yesterday, "user-000", "page_view", "web_app", {"session_id": "today-0"}),
        Row(yesterday, "late-one", "page_view", "web_app", {"page": "/late", "session_id": "x"}),
    ]
    with app.app_context():
        store(late)
        assert read_marks()
    everything = [*rows, *late]
    for tz in ZONES:
        assert not answered_from_storage(app, tz)
        assert_exact(client, everything, tz)
    roll_up(app)
    for tz in ZONES:
        assert answered_from_storage(app, tz)
        assert_exact(client, everything, tz)
    assert_seen_is_min_and_max_of_days(app)


def test_a_late_event_between_a_week_and_a_month_ago_sends_only_mau_to_raw_events(
    app, client, rows
):
    """Today's WAU and MAU are read together, yet each length keeps its own fallback: a mark
    on a stored day inside the month but not the week leaves the WAU to the stored activity."""
    roll_up(app)
    late = [Row(datetime.now(UTC) - timedelta(days=12), "late-one", "page_view", None, {})]
    with app.app_context():
        store(late)
        marks = read_marks()
        assert marks
        for tz in ZONES:
            day = day_in(today(tz), zone(tz))
            rng = ReportRange(zone(tz), day.date, day.date)
            counts = activity.trailing(rng, day, [7, 30], marks)
            assert counts[7] is not None and counts[30] is None, tz
    for tz in ZONES:
        assert_active_users(client, [*rows, *late], tz, today(tz) - timedelta(days=40), today(tz))


def test_a_rerun_leaves_every_stored_row_as_it_was(app):
    roll_up(app)
    before = snapshot(app)
    assert before["user_days"] and before["session_days"] and before["page_days"]
    # "reused" and the sessions across midnight have parts on two days.
    assert query(app, "SELECT count(*) FROM session_days WHERE shared")[0][0] >= 4
    roll_up(app)
    assert snapshot(app) == before


def test_an_erased_user_leaves_no_stored_activity_and_reports_stay_exact(app, client, rows):
    roll_up(app)
    with app.app_context():
        job = erasure.request_erasure("user-003", "test", "request")
        erasure.run(job.id)
    for table in ("user_days", "users_seen"):
        assert not query(app, f"SELECT * FROM {table} WHERE user_id = 'user-003'")
    roll_up(app)
    remaining = [row for row in rows if row.user_id != "user-003"]
    for tz in ZONES:
        assert answered_from_storage(app, tz)
        assert_exact(client, remaining, tz)
    assert_seen_is_min_and_max_of_days(app)


def test_retention_deletes_old_activity_and_first_days_follow(make_app, app):
    roll_up(app)
    cutoff = date(2026, 11, 1)
    kept = (datetime.now(UTC).date() - cutoff).days
    old = make_app(REPORT_TIMEZONE="America/New_York", METRICS_RETENTION_DAYS=str(kept))
    with old.app_context():
        deleted = retention.clean_up()
    assert deleted["activity_days"] > 0
    for table in ("user_days", "session_days", "page_days"):
        assert query(app, f"SELECT count(*) FROM {table} WHERE date < :d", d=cutoff) == [(0,)]
    assert query(app, "SELECT count(*) FROM users_seen WHERE first_date < :d", d=cutoff) == [(0,)]
    assert_seen_is_min_and_max_of_days(app)


def test_today_is_read_from_the_live_count_and_its_newer_events(app, client, rows, monkeypatch):
    """Today's sessions, pages and event counts are kept by the rollup up to its last run, in
    parts, and added to the newer events; a late event makes them stale, counted raw."""
    monkeypatch.setattr(live, "LIVE_LAG", timedelta(0))
    roll_up(app)
    now = datetime.now(UTC)
    newer = [
        Row(now, "user-000", "page_view", "web_app", {"session_id": "today-0", "page": "/"}),
        Row(now, "fresh", "video_play", "ios_app", {"session_id": "fresh", "page": "/courses"}),
    ]
    with app.app_context():
        store(newer)
        assert not read_marks()
    everything = [*rows, *newer]
    assert_exact(client, everything, "UTC")
    roll_up(app)  # extends today's counted stretch: "today-0" gains a part, folded into one
    assert_exact(client, everything, "UTC")
    utc_today = today("UTC")
    parts = query(
        app,
        "SELECT count(*), sum(CASE WHEN first_ts < last_ts THEN 1 ELSE 0 END) FROM session_days"
        " WHERE tz = 'UTC' AND date = :d AND session_id = 'today-0'",
        d=utc_today,
    )
    assert parts == [(1, 1)]  # one part, from the earlier stretch's event to the newer one
    with app.app_context():  # the figures really come from the stored parts
        db.session.execute(
            db.text("UPDATE page_days SET views = views + 1000 WHERE date = :d AND page = '/'"),
            {"d": utc_today},
        )
        db.session.commit()
    body = report(client, "engagement", start=utc_today, end=utc_today, tz="UTC")
    assert body["top_pages"][0]["views"] > 1000
    with app.app_context():  # a late event inside the counted stretch: today counted raw
        store([Row(now - timedelta(seconds=1), "late", "page_view", None, {"page": "/"})])
    assert_exact(
        client,
        [*everything, Row(now - timedelta(seconds=1), "late", "page_view", None, {"page": "/"})],
        "UTC",
    )


def test_a_live_count_from_before_the_activity_was_kept_is_counted_again(app, client, rows):
    roll_up(app)
    with app.app_context():  # as left by a rollup that kept today's users only
        db.session.execute(db.text("DELETE FROM metrics WHERE name = 'live_events'"))
        for tz in ZONES:  # each zone's today: between their midnights the dates differ
            for table in ("session_days", "page_days"):
                sql = f"DELETE FROM {table} WHERE tz = :tz AND date >= :d"
                db.session.execute(db.text(sql), {"tz": tz, "d": today(tz)})
        db.session.commit()
    for tz in ZONES:
        assert_exact(client, rows, tz)
    roll_up(app)
    assert query(app, "SELECT count(*) FROM metrics WHERE name = 'live_events'")[0][0] > 0
    for tz in ZONES:
        assert_exact(client, rows, tz)


def test_sessions_read_their_stored_parts_in_one_statement(app, monkeypatch):
    """The merged sessions and the stored parts taken back come from one pass over the parts
    (issue 17: two statements read them, and computed today's, twice)."""
    monkeypatch.setattr(live, "LIVE_LAG", timedelta(0))
    roll_up(app)
    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", record)
        try:
            last = today("UTC")
            rng = ReportRange(zone("UTC"), last - timedelta(days=29), last)
            assert activity.sessions(rng, read_marks()) is not None
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", record)
    assert len([s for s in statements if "session_days" in s]) == 1


def test_a_first_rollup_tells_the_planner_how_many_session_parts_it_stored(app, backend):
    """Planned on the statistics of an empty table, the update marking shared parts took a
    nested loop of every part against every other: quadratic in a first rollup's parts."""
    if backend["name"] != "postgresql":
        pytest.skip("SQLite keeps no row counts for its planner unless asked")
    assert query(app, "SELECT reltuples FROM pg_class WHERE relname = 'session_days'") == [(-1,)]
    roll_up(app)
    [(known,)] = query(app, "SELECT reltuples FROM pg_class WHERE relname = 'session_days'")
    assert known > 0


def test_a_rollup_that_stored_days_vacuums_the_activity_it_counts_by_index(app, backend):
    """Index-only counts of users_seen and user_days read the table for every page changed
    since the last vacuum, and a day's rollup changes nearly all of them."""
    if backend["name"] != "postgresql":
        pytest.skip("SQLite has no visibility map")
    [(before,)] = query(app, "SELECT clock_timestamp()")
    vacuumed = (
        "SELECT relname FROM pg_stat_user_tables"
        " WHERE relname IN ('users_seen', 'user_days', 'session_days', 'page_days')"
        " AND last_vacuum > :before ORDER BY relname"
    )
    assert query(app, vacuumed, before=before) == []
    roll_up(app)
    tables = [("page_days",), ("session_days",), ("user_days",), ("users_seen",)]
    assert query(app, vacuumed, before=before) == tables


def test_todays_sessions_are_summed_and_only_those_crossing_days_merged(
    app, client, rows, monkeypatch
):
    """A report of today adds the live count's session figures and merges only the sessions
    that cross days or continue in the newest events (issue 17's soak: merging every session
    of the day made each report of today slower than the last). Today's part of a session
    with a stored part is marked ``shared`` when it is added, or when that day is stored."""
    yesterday = today("UTC") - timedelta(days=1)
    noon = datetime.combine(yesterday, time(12), tzinfo=UTC)
    earlier = [Row(noon, "user-011", "page_view", "web_app", {"session_id": "from-yesterday"})]
    monkeypatch.setattr(live, "LIVE_LAG", timedelta(0))
    with app.app_context():
        store(earlier)
    roll_up(app)
    now = datetime.now(UTC)
    newer = [  # the newest events, after the counted stretch: read raw
        Row(now, "user-011", "page_view", "web_app", {"session_id": "from-yesterday"}),
        Row(now, "user-050", "page_view", "web_app", {"session_id": "reused", "page": "/"}),
        Row(now, "user-000", "button_click", "ios_app", {"session_id": "today-0"}),
    ]
    with app.app_context():
        store(newer)
        assert not read_marks()
    everything = [*rows, *earlier, *newer]
    assert_exact(client, everything, "UTC")

    roll_up(app)  # counts them: today's parts of the sessions with a stored part are shared
    shared = "SELECT session_id FROM session_days WHERE tz = 'UTC' AND date = :d AND shared"
    assert {"from-yesterday", "reused", "UTC"} <= {s for (s,) in query(app, shared, d=today("UTC"))}
    assert_exact(client, everything, "UTC")

    expected = Expected(everything, "UTC").engagement(yesterday, today("UTC"))["sessions"][0]
    with app.app_context():  # the figures of today's other sessions come from the live count
        bump = "UPDATE metrics SET value = value + :n WHERE name = 'live_sessions'"
        db.session.execute(db.text(bump), {"n": 1000})
        db.session.commit()
        body = report(client, "engagement", start=yesterday, end=today("UTC"), tz="UTC")
        assert body["sessions"]["count"] == expected + 1000
        db.session.execute(db.text(bump), {"n": -1000})
        # As if yesterday were stored only now, after today's parts were added.
        db.session.execute(
            db.text("UPDATE session_days SET shared = false WHERE date = :d"), {"d": today("UTC")}
        )
        rollup_activity.store([yesterday], zone("UTC"))
        db.session.commit()
    assert {"from-yesterday", "UTC"} <= {s for (s,) in query(app, shared, d=today("UTC"))}
    assert_exact(client, everything, "UTC")


def test_todays_parts_from_before_their_figures_were_kept_are_marked(app, client, rows):
    """A live count left by a version that kept no session figures (nor marks): reports merge
    every part until the next refresh keeps the figures and marks all of today's parts."""
    roll_up(app)
    with app.app_context():
        db.session.execute(db.text("DELETE FROM metrics WHERE name LIKE 'live_session%'"))
        db.session.execute(
            db.text("UPDATE session_days SET shared = false WHERE date >= :d"),
            {"d": min(today(tz) for tz in ZONES)},
        )
        db.session.commit()
    for tz in ZONES:
        assert_exact(client, rows, tz)
    with app.app_context():  # the worker's next run: today's stretch only, no day stored
        assert run.roll_up(rolled_zones(app.config)) == 0
        db.session.remove()
    assert query(app, "SELECT count(*) FROM metrics WHERE name = 'live_sessions'")[0][0] > 0
    for tz in ZONES:
        assert_exact(client, rows, tz)

"""Days that have ended but are not rolled up yet (from midnight until the worker's next run,
or for as long as the worker is down) are read like today: from the live count such a day
still has, or from its own raw events, while the stored days keep answering from the stored
rows (issue 17). The answers equal raw events' on both databases, after late events and an
erasure too, and the raw events of stored days are not read at all."""

import random
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from test_activity import ZONES, assert_exact, recent_rows, stored_answers
from test_reports import assert_active_users

from analytics_app import erasure
from analytics_app.extensions import db
from analytics_app.models import LiveDay
from analytics_app.reports import activity, periods, stored
from analytics_app.reports.periods import day_in, zone
from analytics_app.reports.range import ReportRange
from analytics_app.reports.raw import events
from analytics_app.rollup import run

from dataset import PAGES, SOURCES, TYPES, Row, generate, store
from helpers import today
from report_fixtures import app_fixture, client_fixture  # noqa: F401 - fixtures, by name


class Clock:
    """Stands in for ``datetime`` where the rollup reads the time: it is ``instant``."""

    combine = staticmethod(datetime.combine)

    def __init__(self, instant):
        self.instant = instant

    def now(self, tz):
        return self.instant.astimezone(tz)


def before_midnight(days_ago=1):
    """Half an hour before the earliest of the zones' midnights that began today, ``days_ago``
    - 1 days earlier: an instant of the day ``days_ago`` days back in every zone."""
    earliest = min(day_in(today(tz), zone(tz)).start for tz in ZONES)
    return earliest - timedelta(days=days_ago - 1, minutes=30)


def roll_up_at(app, instant, monkeypatch):
    """Run the rollup as the worker did at ``instant``; reports keep the real clock."""
    clock = Clock(instant)
    with monkeypatch.context() as patch:
        patch.setattr(periods, "datetime", clock)
        patch.setattr(run, "datetime", clock)
        with app.app_context():
            run.roll_up(stored.rolled_zones(app.config))
            db.session.remove()


def activity_rows(now, users=60, days=40, seed=5):
    """Users joining over the last ``days`` days, returning now and then; their sessions last
    up to a few hours, so some cross midnights."""
    rng = random.Random(seed)
    start, rows = now - timedelta(days=days), []
    for n in range(users):
        user = f"recent-{n:02d}"
        for day in range(rng.randrange(days), days + 1):
            if rng.random() > 0.4:
                continue
            moment = start + timedelta(days=day, seconds=rng.randrange(86400))
            for _ in range(rng.randint(1, 3)):
                payload = {"session_id": f"r-{user}-{day}", "page": rng.choice(PAGES)}
                rows.append(Row(moment, user, rng.choice(TYPES), rng.choice(SOURCES), payload))
                moment += timedelta(minutes=rng.randint(1, 90))
    return [row for row in rows if row.ts < now]


def around(instant):
    """Events either side of the live count's end (the rollup's clock less its lag), in one
    session, and of the midnights that began the day before: a stored day's session going on
    into the day not rolled yet."""
    rows = [
        Row(instant - timedelta(minutes=20), "owl", "page_view", "web_app", {"session_id": "o"}),
        Row(instant - timedelta(minutes=5), "owl", "page_view", "web_app", {"session_id": "o"}),
        Row(instant - timedelta(minutes=4), "lark", "video_play", None, {"page": "/"}),
    ]
    for tz in ZONES:
        midnight = day_in(today(tz) - timedelta(days=1), zone(tz)).start
        for moment in (midnight - timedelta(minutes=5), midnight + timedelta(minutes=5)):
            rows.append(Row(moment, "crosser", "page_view", None, {"session_id": f"x-{tz}"}))
    return rows


@pytest.fixture
def rows():
    now = datetime.now(UTC)
    return [*generate(users=60), *recent_rows(now), *activity_rows(now), *around(before_midnight())]


def spans(tz):
    last = today(tz)
    days = [timedelta(days=n) for n in range(41)]
    return [
        (last - days[29], last),
        (last - days[29], last - days[1]),
        (last - days[1], last - days[1]),
        (last - days[2], last),
        (last - days[4], last - days[2]),
        (last - days[40], last - days[9]),
        (last, last),
    ]


def answered_from_storage(app, tz):
    """Whether the stored activity (with the recent days read alone) answers every span."""
    with app.app_context():
        marks = stored.read_marks()
        if not stored_answers(marks, tz, spans(tz)):
            return False
        rng = ReportRange(zone(tz), today(tz) - timedelta(days=1), today(tz))
        return all(activity.trailing(rng, d, [30], marks)[30] is not None for d in rng.local_days)


def assert_all_exact(client, rows):
    for tz in ZONES:
        assert_exact(client, rows, tz, spans(tz))
        assert_active_users(client, rows, tz, today(tz) - timedelta(days=40), today(tz))


def rolled_until(app, tz):
    with app.app_context():
        return stored.last_rolled_date(tz)


def live_dates(app, tz):
    with app.app_context():
        return db.session.scalars(sa.select(LiveDay.date).where(LiveDay.tz == tz)).all()


def test_the_day_just_ended_is_read_from_its_live_count_until_it_is_rolled(
    app, client, rows, monkeypatch
):
    instant = before_midnight()
    roll_up_at(app, instant, monkeypatch)
    # Arrived after that rollup, later than its boundary: no mark, read from raw events.
    after = [Row(instant - timedelta(minutes=1), "late-owl", "search_query", None, {"page": "/"})]
    with app.app_context():
        store(after)
        assert not stored.read_marks()
    for tz in ZONES:
        yesterday = today(tz) - timedelta(days=1)
        assert rolled_until(app, tz) == yesterday - timedelta(days=1)
        assert live_dates(app, tz) == [yesterday]
        assert answered_from_storage(app, tz), tz
    assert_all_exact(client, [*rows, *after])


def test_days_not_rolled_while_the_worker_was_down_are_read_alone(app, client, rows, monkeypatch):
    roll_up_at(app, before_midnight(days_ago=3), monkeypatch)
    for tz in ZONES:
        assert rolled_until(app, tz) == today(tz) - timedelta(days=4)
        assert live_dates(app, tz) == [today(tz) - timedelta(days=3)]
        assert answered_from_storage(app, tz), tz
    assert_all_exact(client, rows)


def test_a_week_not_rolled_leaves_wau_no_stored_day_and_mau_some(app, client, rows, monkeypatch):
    """With the worker down for over a week, today's WAU reads only days not rolled and its
    MAU stored days too: two different sets of newer days, each read once."""
    roll_up_at(app, before_midnight(days_ago=9), monkeypatch)
    for tz in ZONES:
        assert rolled_until(app, tz) == today(tz) - timedelta(days=10)
        with app.app_context():
            day = day_in(today(tz), zone(tz))
            rng = ReportRange(zone(tz), day.date, day.date)
            counts = activity.trailing(rng, day, [7, 30], stored.read_marks())
        assert None not in counts.values(), tz
    assert_all_exact(client, rows)


def test_late_events_and_an_erasure_stay_exact_before_and_after_the_next_rollup(
    app, client, rows, monkeypatch
):
    instant = before_midnight()
    roll_up_at(app, instant, monkeypatch)
    # Behind the boundary on the day just ended: marked, so its live count is stale; the
    # stored days are untouched and still answer.
    late = [Row(instant - timedelta(hours=1), "user-001", "page_view", None, {"page": "/late"})]
    with app.app_context():
        store(late)
        assert stored.read_marks()
    rows = [*rows, *late]
    for tz in ZONES:
        assert answered_from_storage(app, tz), tz
    assert_all_exact(client, rows)
    # On a stored day: the stored rows are not trusted until the next rollup.
    stale = datetime.now(UTC) - timedelta(days=5)
    late = [Row(stale, "recent-00", "page_view", "web_app", {"page": "/", "session_id": "r"})]
    with app.app_context():
        store(late)
    rows = [*rows, *late]
    assert not answered_from_storage(app, "UTC")
    assert_all_exact(client, rows)
    # A user active on stored days and on the days not rolled yet.
    edge = before_midnight(days_ago=2)
    erased = next(
        user
        for user in sorted({row.user_id for row in rows if row.ts > edge})
        if any(row.user_id == user and row.ts < edge - timedelta(days=1) for row in rows)
    )
    with app.app_context():
        job = erasure.request_erasure(erased, "test", "request")
        erasure.run(job.id)
    rows = [row for row in rows if row.user_id != erased]
    assert_all_exact(client, rows)
    roll_up_at(app, instant, monkeypatch)
    with app.app_context():
        assert not stored.read_marks()
    for tz in ZONES:
        assert answered_from_storage(app, tz), tz
    assert_all_exact(client, rows)


def test_stored_days_are_not_read_from_raw_events(app, client, rows, monkeypatch):
    """With every raw event of the stored days deleted (behind the rollup's back), reports
    still give the figures of all events: only the days not rolled yet are read raw."""
    roll_up_at(app, before_midnight(), monkeypatch)
    cut = min(day_in(today(tz) - timedelta(days=1), zone(tz)).start for tz in ZONES)
    with app.app_context():
        deleted = db.session.execute(sa.delete(events).where(events.c.ts < cut))
        db.session.commit()
        assert deleted.rowcount > len(rows) // 2
    assert_all_exact(client, rows)

"""Breakdowns read from the rollup's bitmaps (PostgreSQL) answer exactly what raw events and
the oracle answer: by type, src and payload keys, filtered or not, over ranges of blocks, days
and today, in UTC and a zone with daylight saving, after late events, an erasure, a backfill
and retention. On SQLite the same answers come from raw events."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from test_activity import recent_rows

from analytics_app import retention
from analytics_app.models.breakdowns import LIVE
from analytics_app.reports import stored_breakdowns
from analytics_app.reports.breakdowns import Dimension
from analytics_app.reports.range import Filters, ReportRange
from analytics_app.reports.stored import read_marks, rolled_zones
from analytics_app.rollup import live, run

import report_oracle as oracle
from dataset import FIRST_DAY, Row, generate, store
from helpers import Client, erase_numbered, execute, make_token, postgres, query, today

ZONES = ["UTC", "America/New_York"]
READ = make_token(scope="analytics:read")
PATH = "/api/analytics/reports/breakdown"
# (by, filters, limit): every way the stored rows answer, and an overflowing key.
CASES = [
    ("type", {}, 20),
    ("type", {}, 2),
    ("src", {}, 1),
    ("type", {"src": "web_app"}, 20),
    ("type", {"type": "page_view", "src": "ios_app"}, 20),
    ("src", {"type": "page_view"}, 20),
    ("src", {"src": "ios_app"}, 20),
    ("payload.page", {}, 3),
    ("payload.score", {}, 20),
    ("payload.session_id", {}, 5),
]
SETTINGS = {
    "REPORT_TIMEZONE": "America/New_York",
    "ROLLUP_PAYLOAD_KEYS": "page,score,session_id",
    "ROLLUP_PAYLOAD_VALUES": "12",  # session ids overflow on every day with events
}


def scored_rows(now):
    """Numbers, booleans and nulls as payload values, on finished days and today."""
    rows = []
    for n, score in enumerate([90, 75.5, True, None, "90", 90, False, 75.5]):
        moment = now - timedelta(days=n * 3, minutes=n + 1)
        rows.append(Row(moment, f"user-{n:03d}", "course_complete", "web_app", {"score": score}))
    return rows


@pytest.fixture
def rows():
    now = datetime.now(UTC)
    return [*generate(users=80), *recent_rows(now), *scored_rows(now)]


@pytest.fixture
def app(make_app, rows):
    app = make_app(rows, **SETTINGS)
    if postgres(app):  # users numbered across two chunks of the bitmaps
        execute(app, "ALTER TABLE user_numbers ALTER COLUMN number RESTART WITH 65500")
    return app


@pytest.fixture
def client(app, serve):
    return Client(serve(app).url, READ)


def roll_up(app):
    with app.app_context():
        run.roll_up(rolled_zones(app.config), FIRST_DAY - timedelta(days=1))


def ranges(tz):
    last = today(tz)
    return [
        (date(2026, 10, 24), date(2026, 11, 7)),  # both daylight-saving changes
        (last - timedelta(days=29), last),
        (FIRST_DAY, last),
        (last - timedelta(days=1), last - timedelta(days=1)),
        (last, last),
        (FIRST_DAY - timedelta(days=20), FIRST_DAY + timedelta(days=3)),
    ]


def value_of(by):
    if by in ("type", "src"):
        return lambda row: getattr(row, by)
    key = by.removeprefix("payload.")
    return lambda row: oracle.as_text(row.payload.get(key))


def expected(rows, tz, start, end, by, filters, limit):
    zone = ZoneInfo(tz)
    lo = datetime.combine(start, datetime.min.time(), tzinfo=zone).astimezone(UTC)
    hi = datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    kept = [r for r in rows if all(getattr(r, name) == v for name, v in filters.items())]
    return oracle.breakdown(kept, value_of(by), limit, lo, hi.astimezone(UTC))


def assert_exact(client, rows, tz):
    for start, end in ranges(tz):
        for by, filters, limit in CASES:
            params = {"by": by, "limit": limit, "start": start, "end": end, "tz": tz, **filters}
            response = client.get(PATH, params=params)
            assert response.status_code == 200, response.text
            want = expected(rows, tz, start, end, by, filters, limit)
            assert response.json()["rows"] == want, params


def stored_share(app, tz):
    """How many (range, case) pairs with finished days read stored rows, and how many there
    are; 0 of them on SQLite."""
    used = total = 0
    with app.app_context():
        marks = read_marks()
        for start, end in ranges(tz):
            if start >= today(tz):
                continue
            for by, filters, _ in CASES:
                rng = ReportRange(ZoneInfo(tz), start, end, Filters(**filters))
                chosen = stored_breakdowns.selection(Dimension.parse(by), rng.filters)
                total += 1
                if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
                    used += stored_breakdowns.plan(rng, chosen, marks) is not None
    return used, total


@pytest.mark.parametrize("tz", ZONES)
def test_stored_breakdowns_answer_what_raw_events_do(app, client, rows, tz):
    assert_exact(client, rows, tz)  # nothing rolled up: raw events
    roll_up(app)
    used, total = stored_share(app, tz)
    # Everything but the overflowing key's ranges of busy days reads the bitmaps.
    assert used >= (total - 6 if postgres(app) else 0)
    assert_exact(client, rows, tz)


def test_long_ranges_read_blocks_of_days(app, client, rows):
    roll_up(app)
    if not postgres(app):
        pytest.skip("SQLite keeps no breakdown rollups")
    sizes = {size for (size,) in query(app, "SELECT DISTINCT days FROM breakdown_bits")}
    assert {1, 2, 4, 8, 16} <= sizes
    with app.app_context():
        for filters in ({}, {"src": "web_app"}):  # rows narrowed to a type have blocks too
            rng = ReportRange(ZoneInfo("UTC"), FIRST_DAY, today("UTC"), Filters(**filters))
            chosen = stored_breakdowns.selection(Dimension.parse("type"), rng.filters)
            units, spans = stored_breakdowns.plan(rng, chosen, read_marks())
            finished = [(start, days) for start, days in units if days]
            assert len(finished) < 12 and sum(days for _, days in finished) == rng.days - 1
            # Today, or its newest events.
            assert len(spans) == 1 and spans[0][1] == rng.local_days[-1].end


def test_the_figures_really_come_from_the_bitmaps(app, client, rows):
    roll_up(app)
    if not postgres(app):
        pytest.skip("SQLite keeps no breakdown rollups")
    execute(app, "UPDATE breakdown_bits SET events = events + 1000 WHERE value = 'video_play'")
    params = {"by": "type", "start": FIRST_DAY, "tz": "UTC"}
    [video] = [
        r for r in client.get(PATH, params=params).json()["rows"] if r["value"] == "video_play"
    ]
    assert video["events"] > 1000


def test_late_events_are_exact_at_once_and_after_the_next_rollup(app, client, rows):
    roll_up(app)
    yesterday = datetime.now(UTC) - timedelta(days=1)
    late = [
        Row(datetime(2026, 10, 25, 9, tzinfo=UTC), "late-one", "video_play", "ios_app", {}),
        Row(datetime(2026, 11, 1, 5, 30, tzinfo=UTC), "user-003", "form_submit", None, {}),
        Row(yesterday, "user-000", "page_view", "web_app", {"page": "/late", "score": 1}),
    ]
    with app.app_context():
        store(late)
        assert read_marks()
    everything = [*rows, *late]
    for tz in ZONES:
        assert_exact(client, everything, tz)
    roll_up(app)
    for tz in ZONES:
        used, total = stored_share(app, tz)
        assert used >= (total - 6 if postgres(app) else 0)
        assert_exact(client, everything, tz)


def test_an_erased_user_leaves_no_bit_and_breakdowns_stay_exact(app, client, rows):
    roll_up(app)
    number = erase_numbered(app, "user-003")
    remaining = [row for row in rows if row.user_id != "user-003"]
    if number is not None:
        chunk, bit = divmod(number, 65536)
        set_bits = query(
            app,
            "SELECT count(*) FROM breakdown_bits WHERE chunk = :c AND get_bit(users, :b) = 1",
            c=chunk,
            b=bit,
        )
        assert set_bits == [(0,)]
        assert not query(app, "SELECT 1 FROM user_numbers WHERE user_id = 'user-003'")
    assert_exact(client, remaining, "America/New_York")
    roll_up(app)
    for tz in ZONES:
        assert_exact(client, remaining, tz)


def test_days_and_blocks_rolled_before_the_bitmaps_are_filled_in(app, client, rows):
    roll_up(app)
    if not postgres(app):
        pytest.skip("SQLite keeps no breakdown rollups")
    blocks = "SELECT date, days, dimension FROM breakdown_covers WHERE days > 1 ORDER BY 1, 2, 3"
    built = query(app, blocks)
    execute(app, "DELETE FROM breakdown_bits WHERE date >= '2026-11-01' OR days > 1")
    execute(app, "DELETE FROM breakdown_covers WHERE date >= '2026-11-01' OR days > 1")
    assert_exact(client, rows, "UTC")
    roll_up(app)
    assert query(app, "SELECT count(*) FROM breakdown_covers WHERE date = '2026-11-03'")[0][0] > 0
    assert query(app, blocks) == built
    assert stored_share(app, "UTC")[0] >= stored_share(app, "UTC")[1] - 6
    assert_exact(client, rows, "UTC")


def test_a_rerun_leaves_every_stored_row_as_it_was(app):
    roll_up(app)
    if not postgres(app):
        pytest.skip("SQLite keeps no breakdown rollups")
    sql = (
        "SELECT date, days, tz, dimension, type, value, chunk, events, users::text"
        " FROM breakdown_bits WHERE date < :d ORDER BY 1, 2, 3, 4, 5, 6, 7"
    )
    finished = min(today(tz) for tz in ZONES)
    before = query(app, sql, d=finished)
    roll_up(app)
    assert query(app, sql, d=finished) == before


def test_retention_deletes_old_breakdown_rows(make_app, app):
    roll_up(app)
    if not postgres(app):
        pytest.skip("SQLite keeps no breakdown rollups")
    cutoff = date(2026, 11, 1)
    kept = (datetime.now(UTC).date() - cutoff).days
    old = make_app(**SETTINGS, METRICS_RETENTION_DAYS=str(kept))
    with old.app_context():
        retention.clean_up()
    for table in ("breakdown_bits", "breakdown_covers"):
        assert query(app, f"SELECT count(*) FROM {table} WHERE date < :d", d=cutoff) == [(0,)]
    assert query(app, "SELECT count(*) FROM breakdown_bits")[0][0] > 0


def today_units(app, tz="UTC"):
    """The stored units a breakdown by type of today reads (None: raw events only)."""
    with app.app_context():
        rng = ReportRange(ZoneInfo(tz), today(tz), today(tz))
        chosen = stored_breakdowns.selection(Dimension.parse("type"), rng.filters)
        planned = stored_breakdowns.plan(rng, chosen, read_marks())
    return planned and planned[0]


def test_today_is_read_from_its_rows_so_far_and_the_newer_events(app, client, rows, monkeypatch):
    monkeypatch.setattr(live, "LIVE_LAG", timedelta(0))
    roll_up(app)
    now = datetime.now(UTC)
    newer = [
        Row(now, "user-000", "page_view", "web_app", {"page": "/", "score": 3}),
        Row(now, "fresh", "video_play", "ios_app", {"page": "/courses", "session_id": "f"}),
    ]
    with app.app_context():
        store(newer)
        assert not read_marks()
    everything = [*rows, *newer]
    assert_exact(client, everything, "UTC")
    roll_up(app)  # today's rows now count the newer events too
    assert_exact(client, everything, "UTC")
    if not postgres(app):
        return
    assert today_units(app) == [(today("UTC"), LIVE)]
    execute(app, "UPDATE breakdown_bits SET events = events + 1000 WHERE days = 0")
    params = {"by": "type", "start": today("UTC"), "end": today("UTC"), "tz": "UTC"}
    assert client.get(PATH, params=params).json()["rows"][0]["events"] > 1000
    execute(app, "UPDATE breakdown_bits SET events = events - 1000 WHERE days = 0")
    late = Row(now - timedelta(seconds=1), "late", "page_view", None, {"page": "/"})
    with app.app_context():  # inside the counted stretch: today is read raw until the rollup
        store([late])
    assert today_units(app) is None
    assert_exact(client, [*everything, late], "UTC")
    roll_up(app)
    assert today_units(app) == [(today("UTC"), LIVE)]
    assert_exact(client, [*everything, late], "UTC")

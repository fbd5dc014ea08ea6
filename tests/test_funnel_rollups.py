"""Funnels read from the rollup's stored rows (PostgreSQL) answer exactly what raw events and
the oracle answer: with and without payload conditions and a source, over ranges of stored
days, today and days not kept, in UTC and a zone with daylight saving, after late events, an
erasure, a backfill, a rerun and retention. On SQLite the same answers come from raw events.
"""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from test_activity import recent_rows

from analytics_app import retention
from analytics_app.reports import stored_funnels
from analytics_app.reports.range import Filters, ReportRange
from analytics_app.reports.steps import Funnel, parse_step, parse_window
from analytics_app.reports.stored import read_marks, rolled_zones
from analytics_app.rollup import run

import report_oracle as oracle
from dataset import FIRST_DAY, LAST_DAY, TYPES, Row, generate, store
from helpers import Client, erase_numbered, execute, make_token, postgres, query, today

ZONES = ["UTC", "America/New_York"]
READ = make_token(scope="analytics:read")
PATH = "/api/analytics/reports/funnel"
SETTINGS = {
    "REPORT_TIMEZONE": "America/New_York",
    "ROLLUP_PAYLOAD_KEYS": "page,session_id",
    "ROLLUP_PAYLOAD_VALUES": "12",  # session ids are kept on quiet days only
}
# (steps, window, filters): conditions on a kept key, on a key kept on some days only, the
# same type twice, a source, and a window reaching into the days after the range.
CASES = [
    (["page_view", "button_click"], "1d", {}),
    (["page_view[page=/pricing]", "button_click", "form_submit"], "3d", {}),
    (["page_view", "page_view[page=/pricing]", "button_click"], "30m", {}),
    (["page_view[session_id=reused]", "page_view"], "30d", {}),
    (["button_click", "page_view"], "1d", {"src": "web_app"}),
]


def funnel_rows(now):
    """Chains across both zones' midnights, ties at one instant, and one finished today."""
    rows = []
    for n, tz in enumerate(ZONES):
        midnight = datetime.combine(FIRST_DAY + timedelta(days=5 + n), datetime.min.time())
        midnight = midnight.replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)
        user = f"crosser-{n}"
        rows.append(
            Row(
                midnight - timedelta(seconds=30), user, "page_view", "web_app", {"page": "/pricing"}
            )
        )
        rows.append(Row(midnight + timedelta(seconds=30), user, "button_click", "web_app", {}))
        rows.append(Row(midnight + timedelta(seconds=60), user, "form_submit", "ios_app", {}))
    tie = datetime(2026, 11, 3, 15, tzinfo=UTC)
    for type_ in ("page_view", "page_view", "button_click"):
        rows.append(Row(tie, "tied", type_, "web_app", {"page": "/pricing"}))
    yesterday = datetime.combine(now.date() - timedelta(days=1), datetime.min.time(), UTC)
    rows.append(
        Row(
            yesterday + timedelta(hours=23),
            "finisher",
            "page_view",
            "web_app",
            {"page": "/pricing"},
        )
    )
    rows.append(Row(now - timedelta(minutes=1), "finisher", "button_click", "web_app", {}))
    return [row for row in rows if row.ts < now]


@pytest.fixture
def rows():
    now = datetime.now(UTC)
    return [*generate(users=80), *recent_rows(now), *funnel_rows(now)]


@pytest.fixture
def app(make_app, rows):
    return make_app(rows, **SETTINGS)


@pytest.fixture
def client(app, serve):
    return Client(serve(app).url, READ)


def roll_up(app):
    with app.app_context():
        run.roll_up(rolled_zones(app.config), FIRST_DAY - timedelta(days=1))


def ranges(tz):
    last = today(tz)
    return [
        (FIRST_DAY, LAST_DAY),
        (date(2026, 10, 24), date(2026, 11, 7)),  # both daylight-saving changes
        (last - timedelta(days=29), last - timedelta(days=1)),  # the window reaches today
        (last - timedelta(days=1), last),
        (FIRST_DAY + timedelta(days=4), FIRST_DAY + timedelta(days=6)),
    ]


def expected(rows, tz, start, end, steps, window, filters):
    zone = ZoneInfo(tz)
    lo = datetime.combine(start, datetime.min.time(), tzinfo=zone).astimezone(UTC)
    hi = datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    kept = [r for r in rows if all(getattr(r, name) == v for name, v in filters.items())]
    parsed = [parse_step(text, TYPES) for text in steps]
    steps = [oracle.Step(step.type, step.conditions) for step in parsed]
    return oracle.funnel(kept, steps, oracle.window_of(window), lo, hi.astimezone(UTC))


def assert_exact(client, rows, tz):
    for start, end in ranges(tz):
        for steps, window, filters in CASES:
            params = {"step": steps, "window": window, "start": start, "end": end, "tz": tz}
            response = client.get(PATH, params={**params, **filters})
            assert response.status_code == 200, response.text
            want = expected(rows, tz, start, end, steps, window, filters)
            assert response.json()["steps"] == want, params


def stored_share(app, tz):
    """How many (range, case) pairs read stored days, and how many there are (0 on SQLite)."""
    used = total = 0
    with app.app_context():
        marks = read_marks()
        for start, end in ranges(tz):
            for steps, window, filters in CASES:
                rng = ReportRange(ZoneInfo(tz), start, end, Filters(**filters))
                funnel = Funnel(tuple(parse_step(t, TYPES) for t in steps), parse_window(window))
                total += 1
                if postgres(app):
                    used += stored_funnels.plan(rng, funnel, marks) is not None
    return used, total


def assert_stored(app, tz):
    used, total = stored_share(app, tz)
    assert used >= (total - 2 if postgres(app) else 0)  # the session id's busy ranges


@pytest.mark.parametrize("tz", ZONES)
def test_stored_funnels_answer_what_raw_events_do(app, client, rows, tz):
    assert_exact(client, rows, tz)  # nothing rolled up: raw events
    roll_up(app)
    assert_stored(app, tz)
    assert_exact(client, rows, tz)


def test_the_figures_really_come_from_the_stored_rows(app, client, rows):
    roll_up(app)
    if not postgres(app):
        pytest.skip("SQLite keeps no funnel rollups")
    execute(app, "DELETE FROM funnel_days WHERE tz = 'UTC'")
    params = {"step": ["page_view", "button_click"], "start": FIRST_DAY, "end": LAST_DAY}
    body = client.get(PATH, params={**params, "tz": "UTC"}).json()
    assert body["steps"][0]["users"] == 0


def test_late_events_are_exact_at_once_and_after_the_next_rollup(app, client, rows):
    roll_up(app)
    yesterday = datetime.now(UTC) - timedelta(days=1)
    late = [
        Row(datetime(2026, 10, 25, 9, tzinfo=UTC), "late-one", "page_view", "ios_app", {}),
        Row(datetime(2026, 10, 25, 9, 5, tzinfo=UTC), "late-one", "button_click", "ios_app", {}),
        Row(datetime(2026, 11, 1, 5, 30, tzinfo=UTC), "user-003", "button_click", None, {}),
        Row(yesterday, "user-000", "page_view", "web_app", {"page": "/pricing"}),
    ]
    with app.app_context():
        store(late)
        assert read_marks()
    everything = [*rows, *late]
    for tz in ZONES:
        assert_exact(client, everything, tz)
    roll_up(app)
    for tz in ZONES:
        assert_stored(app, tz)
        assert_exact(client, everything, tz)


def test_an_erased_user_leaves_no_row_and_funnels_stay_exact(app, client, rows):
    roll_up(app)
    number = erase_numbered(app, "user-003")
    remaining = [row for row in rows if row.user_id != "user-003"]
    if number is not None:
        assert query(app, "SELECT count(*) FROM funnel_days WHERE number = :n", n=number) == [(0,)]
    assert_exact(client, remaining, "America/New_York")
    roll_up(app)
    for tz in ZONES:
        assert_exact(client, remaining, tz)


ROWS_SQL = "SELECT date, tz, number, kinds, events FROM funnel_days ORDER BY 1, 2, 3"


def test_days_rolled_before_the_funnel_rows_are_filled_in_as_they_were(app, client, rows):
    roll_up(app)
    if not postgres(app):
        pytest.skip("SQLite keeps no funnel rollups")
    built = query(app, ROWS_SQL)
    execute(app, "DELETE FROM funnel_days WHERE date >= '2026-11-01'")
    execute(app, "DELETE FROM funnel_covers WHERE date >= '2026-11-01'")
    assert_exact(client, rows, "UTC")
    roll_up(app)
    assert query(app, ROWS_SQL) == built
    assert_stored(app, "UTC")
    assert_exact(client, rows, "UTC")


def test_a_rerun_leaves_every_stored_row_as_it_was(app):
    roll_up(app)
    if not postgres(app):
        pytest.skip("SQLite keeps no funnel rollups")
    before = query(app, ROWS_SQL)
    with app.app_context():  # every day again, from scratch
        run.roll_up(rolled_zones(app.config), FIRST_DAY - timedelta(days=1), today("UTC"))
    assert query(app, ROWS_SQL) == before


def test_retention_deletes_old_rows_and_the_rest_stay_exact(make_app, app, client, rows):
    roll_up(app)
    cutoff = date(2026, 11, 1)
    kept = (datetime.now(UTC).date() - cutoff).days
    old = make_app(**SETTINGS, METRICS_RETENTION_DAYS=str(kept), EVENT_RETENTION_DAYS=str(kept))
    with old.app_context():
        retention.clean_up()
    if postgres(app):
        for table in ("funnel_days", "funnel_covers"):
            assert query(app, f"SELECT count(*) FROM {table} WHERE date < :d", d=cutoff) == [(0,)]
        assert query(app, "SELECT count(*) FROM funnel_days")[0][0] > 0
    instant = datetime.now(UTC) - timedelta(days=kept)
    remaining = [row for row in rows if row.ts >= instant]
    late_start = cutoff + timedelta(days=1)
    for steps, window, filters in CASES:
        params = {"step": steps, "window": window, "start": late_start, "end": LAST_DAY}
        response = client.get(PATH, params={**params, "tz": "UTC", **filters})
        want = expected(remaining, "UTC", late_start, LAST_DAY, steps, window, filters)
        assert response.json()["steps"] == want, params

"""The funnel report: hand-made traps, then random data against a brute-force oracle, in UTC
and in a zone with daylight saving, over several windows, on both databases."""

import csv
import io
import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import openpyxl
import pytest

import report_oracle as oracle
from dataset import Row, store
from helpers import Client, make_token

READ = make_token(scope="analytics:read")
PATH = "/api/analytics/reports/funnel"
DAY = date(2026, 11, 10)
NOON = datetime(2026, 11, 10, 12, tzinfo=UTC)


@pytest.fixture
def client(app, serve):
    return Client(serve(app).url, READ)


def at(minutes, seconds=0):
    return NOON + timedelta(minutes=minutes, seconds=seconds)


def event(user, type_, moment, src="web_app", **payload):
    return Row(moment, user, type_, src, payload)


def run(app, client, rows, steps, **params):
    with app.app_context():
        store(rows)
    params = {"start": DAY, "end": DAY, "tz": "UTC", **params}
    response = client.get(PATH, params={"step": steps, **params})
    assert response.status_code == 200, response.text
    return response.json()


def users(body):
    return [step["users"] for step in body["steps"]]


def medians(body):
    return [step["median_seconds_from_previous"] for step in body["steps"]]


def test_a_funnel_answers_users_conversions_and_median_times(app, client):
    rows = [
        event("a", "page_view", at(0), page="/"),
        event("a", "page_view", at(1), page="/pricing"),
        event("a", "button_click", at(3), button_id="buy", plan="pro"),
        event("b", "page_view", at(0), page="/"),
        event("b", "page_view", at(5), page="/pricing"),
        event("c", "page_view", at(0), page="/help"),
    ]
    steps = ["page_view", "page_view[page=/pricing]", "button_click[button_id=buy][plan=pro]"]
    body = run(app, client, rows, steps)
    assert body["steps"] == [
        {
            "step": steps[0],
            "users": 3,
            "conversion": 1.0,
            "step_conversion": 1.0,
            "median_seconds_from_previous": None,
        },
        {
            "step": steps[1],
            "users": 2,
            "conversion": 2 / 3,
            "step_conversion": 2 / 3,
            "median_seconds_from_previous": 180.0,
        },
        {
            "step": steps[2],
            "users": 1,
            "conversion": 1 / 3,
            "step_conversion": 0.5,
            "median_seconds_from_previous": 120.0,
        },
    ]
    assert (body["window"], body["timezone"], body["start"]) == ("1d", "UTC", "2026-11-10")


def test_events_at_equal_times_may_come_in_either_order(app, client):
    """The click is stored first, yet at the same instant it can follow the view."""
    rows = [
        event("tie", "button_click", at(0)),
        event("tie", "page_view", at(0)),
        event("tie", "form_submit", at(0)),
    ]
    body = run(app, client, rows, ["page_view", "button_click", "form_submit"])
    assert users(body) == [1, 1, 1]
    assert medians(body) == [None, 0.0, 0.0]


def test_the_same_event_type_at_two_steps_needs_two_events(app, client):
    rows = [
        event("once", "page_view", at(0), page="/pricing"),
        event("twice", "page_view", at(0), page="/pricing"),
        event("twice", "page_view", at(0), page="/pricing"),
        event("later", "page_view", at(0), page="/"),
        event("later", "page_view", at(2), page="/pricing"),
    ]
    body = run(app, client, rows, ["page_view", "page_view[page=/pricing]"])
    assert users(body) == [3, 2]
    assert medians(body) == [None, 60.0]


def test_one_event_serves_only_one_step_at_a_crowded_instant(app, client):
    """Two events at one instant; only one of them can be the conditioned second step, so
    the other must be the first: an assignment, not a first-come choice."""
    rows = [
        event("u", "page_view", at(0), page="/pricing"),
        event("u", "page_view", at(0), page="/"),
    ]
    body = run(app, client, rows, ["page_view", "page_view[page=/pricing]", "page_view"])
    assert users(body) == [1, 1, 0]


def test_a_second_attempt_that_gets_further_counts(app, client):
    rows = [
        event("u", "page_view", at(0)),
        event("u", "button_click", at(10)),
        event("u", "page_view", at(60 * 5)),  # past the first attempt's window of 2 h
        event("u", "button_click", at(60 * 5 + 1)),
        event("u", "form_submit", at(60 * 5 + 3)),
    ]
    body = run(app, client, rows, ["page_view", "button_click", "form_submit"], window="2h")
    assert users(body) == [1, 1, 1]
    # Times come from the first chain that reaches the furthest step: the second attempt.
    assert medians(body) == [None, 60.0, 120.0]


def test_times_come_from_the_earliest_start_and_the_earliest_next_events(app, client):
    rows = [
        event("u", "page_view", at(0)),
        event("u", "page_view", at(5)),
        event("u", "button_click", at(7)),
        event("u", "button_click", at(9)),
    ]
    body = run(app, client, rows, ["page_view", "button_click"])
    assert medians(body) == [None, 420.0]


def test_a_conversion_completed_just_after_the_range_counts(app, client):
    late = datetime(2026, 11, 10, 23, 50, tzinfo=UTC)
    rows = [
        event("u", "page_view", late),
        event("u", "button_click", late + timedelta(minutes=20)),  # the next day
        event("v", "page_view", late + timedelta(minutes=15)),  # starts after the range
        event("v", "button_click", late + timedelta(minutes=16)),
    ]
    body = run(app, client, rows, ["page_view", "button_click"])
    assert users(body) == [1, 1]
    assert medians(body) == [None, 1200.0]


def test_only_a_second_step_at_or_after_the_first_start_can_follow_it(app, client):
    """PostgreSQL counts a user with no step-2 event at or after their first start without
    walking their events: each side of that test, and a late step 2 outside every window."""
    rows = [
        event("before", "button_click", at(0)),
        event("before", "page_view", at(1)),
        event("tied", "page_view", at(1)),
        event("tied", "button_click", at(1)),
        event("around", "button_click", at(0)),
        event("around", "page_view", at(2)),
        event("around", "button_click", at(3)),
        event("far", "page_view", at(0)),
        event("far", "button_click", at(40)),
    ]
    body = run(app, client, rows, ["page_view", "button_click"], window="30m")
    assert users(body) == [4, 2]
    assert medians(body) == [None, 30.0]


def test_the_window_boundary_is_inclusive(app, client):
    rows = [
        event("on", "page_view", at(0)),
        event("on", "button_click", at(30)),
        event("past", "page_view", at(0)),
        event("past", "button_click", at(30, 0) + timedelta(microseconds=1)),
    ]
    body = run(app, client, rows, ["page_view", "button_click"], window="30m")
    assert users(body) == [2, 1]


def test_range_days_are_local_days_across_a_daylight_saving_change(app, client):
    """1 November 2026 lasts 25 hours in New York: 04:00 UTC to 05:00 UTC the next day."""
    new_york = ZoneInfo("America/New_York")
    first = datetime(2026, 11, 1, 0, tzinfo=new_york).astimezone(UTC)
    last = datetime(2026, 11, 2, 0, tzinfo=new_york).astimezone(UTC)
    rows = [
        event("first", "page_view", first),
        event("first", "button_click", first + timedelta(minutes=1)),
        event("before", "page_view", first - timedelta(microseconds=1)),
        event("last", "page_view", last - timedelta(microseconds=1)),
        event("next", "page_view", last),
    ]
    assert last - first == timedelta(hours=25)
    params = {"start": "2026-11-01", "end": "2026-11-01", "tz": "America/New_York"}
    body = run(app, client, rows, ["page_view", "button_click"], **params)
    assert users(body) == [2, 1]


def test_the_source_filter_applies_to_every_step(app, client):
    rows = [
        event("u", "page_view", at(0), src="ios_app"),
        event("u", "button_click", at(1), src="web_app"),
        event("v", "page_view", at(0), src="ios_app"),
        event("v", "button_click", at(1), src="ios_app"),
    ]
    body = run(app, client, rows, ["page_view", "button_click"], src="ios_app")
    assert users(body) == [2, 1]


def test_payload_numbers_and_booleans_match_as_json_text(app, client):
    rows = [
        event("u", "page_view", at(0)),
        event("u", "course_complete", at(1), score=90, passed=True),
        event("v", "page_view", at(0)),
        event("v", "course_complete", at(1), score="90", passed=False),
    ]
    body = run(app, client, rows, ["page_view", "course_complete[score=90][passed=true]"])
    assert users(body) == [2, 1]


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"step": ["page_view"]}, "step"),
        ({"step": ["page_view"] * 11}, "step"),
        ({"step": ["page_view", "teleport"]}, "step"),
        ({"step": ["page_view", "page_view[page]"]}, "step"),
        ({"step": ["page_view", "page_view[page=/a"]}, "step"),
        ({"step": ["page_view", "button_click"], "window": "1y"}, "window"),
        ({"step": ["page_view", "button_click"], "window": "0m"}, "window"),
        ({"step": ["page_view", "button_click"], "window": "400d"}, "window"),
        ({"step": ["page_view", "button_click"], "type": "page_view"}, "type"),
        ({"step": ["page_view", "button_click"], "timezone": "UTC"}, "timezone"),
        ({}, "step"),
    ],
)
def test_bad_steps_windows_and_parameters_are_422_naming_them(client, params, named):
    response = client.get(PATH, params=params)
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]["query"]
    assert list(errors) == [named]
    if named == "step" and len(params.get("step", [])) == 2:
        assert params["step"][1] in str(errors)


def test_the_funnel_needs_the_read_scope(client):
    response = client.get(PATH, params={"step": ["page_view", "button_click"]}, token=make_token())
    assert response.status_code == 403


ZONE_DAYS = {"UTC": (date(2026, 10, 31), date(2026, 11, 2))}
ZONE_DAYS["America/New_York"] = ZONE_DAYS["UTC"]  # 1 November is its 25-hour day
FUNNELS = [
    [oracle.Step("page_view"), oracle.Step("page_view", (("page", "/pricing"),))],
    [
        oracle.Step("page_view"),
        oracle.Step("button_click"),
        oracle.Step("button_click", (("plan", "pro"),)),
    ],
    [
        oracle.Step("page_view", (("page", "/"),)),
        oracle.Step("button_click", (("paid", "true"),)),
        oracle.Step("page_view"),
        oracle.Step("form_submit"),
    ],
]


def random_rows(seed=7, users=60):
    """Events over five days around the change, on minute marks so that many tie."""
    rng = random.Random(seed)
    begin = datetime(2026, 10, 30, tzinfo=UTC)
    rows = []
    for n in range(users):
        first = begin + timedelta(minutes=rng.randrange(5 * 24 * 60))
        for _ in range(rng.randint(1, 9)):
            moment = first + timedelta(minutes=rng.choice([0, 0, 1, 5, 30, 90, 600, 1500]))
            first = moment if rng.random() < 0.7 else first
            kind = rng.choice(["page_view", "page_view", "button_click", "form_submit"])
            payload = {"page": rng.choice(["/", "/pricing"])}
            if kind == "button_click":
                payload.update(plan=rng.choice(["pro", "free"]), paid=rng.choice([True, False]))
            rows.append(Row(moment, f"r-{n:02d}", kind, "web_app", payload))
    return rows


def test_random_funnels_match_the_oracle_in_both_zones_and_several_windows(app, client):
    rows = random_rows()
    with app.app_context():
        store(rows)
    for tz, (start, end) in ZONE_DAYS.items():
        zone = ZoneInfo(tz)
        lo = datetime.combine(start, datetime.min.time(), tzinfo=zone).astimezone(UTC)
        hi = datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=zone)
        for window in ("30m", "6h", "1d", "3d"):
            for steps in FUNNELS:
                params = {"step": [s.text for s in steps], "window": window, "tz": tz}
                response = client.get(PATH, params={**params, "start": start, "end": end})
                assert response.status_code == 200, response.text
                expected = oracle.funnel(
                    rows, steps, oracle.window_of(window), lo, hi.astimezone(UTC)
                )
                assert response.json()["steps"] == expected, params


def test_csv_and_excel_hold_the_same_figures_as_the_json(app, client):
    rows = [
        event("a", "page_view", at(0), page="=HYPERLINK(1)"),
        event("a", "button_click", at(1)),
        event("b", "page_view", at(0), page="=HYPERLINK(1)"),
    ]
    steps = ["page_view[page==HYPERLINK(1)]", "button_click"]
    body = run(app, client, rows, steps)
    params = {"step": steps, "start": DAY, "end": DAY, "tz": "UTC"}
    columns = ["step", "users", "conversion", "step_conversion", "median_seconds_from_previous"]
    expected = [[step[name] for name in columns] for step in body["steps"]]

    answer = client.get(PATH, params={**params, "format": "csv"})
    assert answer.headers["Content-Type"].startswith("text/csv")
    assert "funnel_2026-11-10_2026-11-10.csv" in answer.headers["Content-Disposition"]
    table = list(csv.reader(io.StringIO(answer.text)))
    assert table[0] == columns
    assert [row[0] for row in table[1:]] == steps
    assert [[float(v) if v else None for v in row[1:]] for row in table[1:]] == [
        row[1:] for row in expected
    ]

    answer = client.get(PATH, params={**params, "format": "xlsx"})
    sheet = openpyxl.load_workbook(io.BytesIO(answer.content)).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values == [columns, *expected]  # text typed as text: no apostrophe, no formula
    assert client.get(PATH, params={**params, "format": "pdf"}).status_code == 422


def test_a_busy_user_is_walked_past_the_first_events_the_walk_tries_alone(app, client):
    """A user with hundreds of step events who completes the funnel only at the end, and one
    who completes it at once: both as the oracle says (PostgreSQL tries a prefix first)."""
    rows = []
    for n in range(300):
        rows.append(event("late", "page_view", at(n, 5)))
        rows.append(event("early", "page_view", at(n, 5)))
    rows.append(event("late", "button_click", at(299, 6)))
    rows.append(event("early", "button_click", at(0, 6)))
    rows.append(event("tied", "page_view", at(0, 6)))
    rows += [event("tied", "button_click", at(0, 6))] * 2  # a tie: the walk that matches
    body = run(app, client, rows, ["page_view", "button_click"], window="2h")
    lo = datetime.combine(DAY, datetime.min.time(), tzinfo=UTC)
    steps = [oracle.Step("page_view"), oracle.Step("button_click")]
    assert body["steps"] == oracle.funnel(rows, steps, timedelta(hours=2), lo, lo + timedelta(1))
    assert users(body) == [3, 3]

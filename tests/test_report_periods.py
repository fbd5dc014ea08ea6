"""Today is a partial day, the future has no data, and compare=previous adds the range of equal
length just before: in the report's own zone."""

from datetime import UTC, date, datetime, timedelta

import pytest

from helpers import Client, make_event, make_token, today

READ = make_token(scope="analytics:read")
RANGE_REPORTS = ["dau", "active-users", "engagement", "retention"]


@pytest.fixture
def client(app, serve):
    return Client(serve(app).url, READ)


def during(day):
    """A moment of the UTC ``day`` that has passed: noon, or for today halfway to now (an
    event after now is refused as from the future, and the suite runs at any hour)."""
    midnight = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
    moment = min(midnight + timedelta(hours=12), midnight + (datetime.now(UTC) - midnight) / 2)
    return moment.isoformat()


def get(client, path, **params):
    response = client.get(f"/api/analytics/reports/{path}", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def ingest_days(client, days, users_per_day=1):
    events = [
        make_event(ts=during(day), user_id=f"user-{day}-{n}")
        for day in days
        for n in range(users_per_day)
    ]
    assert client.ingest(events).status_code == 200


@pytest.mark.parametrize("path", ["dau", "active-users"])
def test_todays_point_is_partial_and_finished_days_are_complete(client, path):
    start = today() - timedelta(days=2)
    body = get(client, path, start=start, end=today(), tz="UTC")
    assert [(p["date"], p["complete"]) for p in body["series"]] == [
        (str(start), True),
        (str(start + timedelta(days=1)), True),
        (str(today()), False),
    ]


@pytest.mark.parametrize("tz", ["Pacific/Kiritimati", "Pacific/Pago_Pago", "UTC"])
@pytest.mark.parametrize("path", ["dau", "active-users"])
def test_days_after_today_in_the_reports_zone_are_not_returned(client, path, tz):
    start = today(tz) - timedelta(days=1)
    body = get(client, path, start=start, end=today(tz) + timedelta(days=5), tz=tz)
    assert body["end"] == str(today(tz))
    assert [p["date"] for p in body["series"]] == [str(start), str(today(tz))]


@pytest.mark.parametrize("path", RANGE_REPORTS)
def test_a_range_ending_in_the_future_ends_today(client, path):
    body = get(client, path, start=today() - timedelta(days=3), end="2200-12-31", tz="UTC")
    assert body["end"] == str(today())


@pytest.mark.parametrize("path", RANGE_REPORTS)
def test_a_range_starting_after_today_is_a_422_naming_start(client, path):
    tomorrow = today("Pacific/Kiritimati") + timedelta(days=1)
    response = client.get(
        f"/api/analytics/reports/{path}",
        params={"start": tomorrow, "end": tomorrow, "tz": "Pacific/Kiritimati"},
    )
    assert response.status_code == 422
    assert list(response.json()["errors"]["query"]) == ["start"]


def test_a_dau_date_after_today_is_a_422_naming_date(client):
    response = client.get(
        "/api/analytics/reports/dau", params={"date": today() + timedelta(days=1), "tz": "UTC"}
    )
    assert response.status_code == 422
    assert list(response.json()["errors"]["query"]) == ["date"]


def test_dau_without_a_date_is_today_so_far_in_the_seed_shape(client):
    yesterday = today() - timedelta(days=1)
    ingest_days(client, [yesterday], users_per_day=2)
    ingest_days(client, [today()], users_per_day=5)
    body = get(client, "dau")  # the seed's curl example: no parameters at all
    assert body == {"dau": 5, "date": str(today()), "period": "24h", "timezone": "UTC"}
    assert get(client, "dau", date=yesterday)["dau"] == 2


def test_compare_previous_adds_the_range_of_equal_length_just_before(client):
    days = [today() - timedelta(days=n) for n in range(8)]
    for n, day in enumerate(days):
        ingest_days(client, [day], users_per_day=n + 1)
    start, end = today() - timedelta(days=3), today()
    body = get(client, "dau", start=start, end=end, tz="UTC", compare="previous")
    previous = body["previous"]
    assert (previous["start"], previous["end"]) == (
        str(start - timedelta(days=4)),
        str(start - timedelta(days=1)),
    )
    assert previous == get(client, "dau", start=previous["start"], end=previous["end"], tz="UTC")
    assert [p["dau"] for p in previous["series"]] == [8, 7, 6, 5]
    assert all(p["complete"] for p in previous["series"])
    assert "previous" not in get(client, "dau", start=start, end=end, tz="UTC")


@pytest.mark.parametrize("path", ["active-users", "engagement", "retention"])
def test_every_range_report_compares_with_the_previous_range(client, path):
    ingest_days(client, [today() - timedelta(days=n) for n in range(20)])
    start, end = today() - timedelta(days=6), today()
    body = get(client, path, start=start, end=end, tz="UTC", compare="previous")
    earlier = {"start": start - timedelta(days=7), "end": start - timedelta(days=1)}
    assert body["previous"] == get(client, path, tz="UTC", **earlier)
    assert {k: v for k, v in body.items() if k != "previous"} == get(
        client, path, start=start, end=end, tz="UTC"
    )


def test_the_previous_range_of_a_range_clipped_at_today_has_the_clipped_length(client):
    start = today() - timedelta(days=1)
    body = get(client, "engagement", start=start, end=today() + timedelta(days=9), tz="UTC")
    assert body["end"] == str(today())
    body = get(
        client, "engagement", start=start, end=today() + timedelta(days=9), compare="previous"
    )
    assert (body["previous"]["start"], body["previous"]["end"]) == (
        str(start - timedelta(days=2)),
        str(start - timedelta(days=1)),
    )


def test_the_single_day_dau_compares_with_the_day_before(client):
    day = today() - timedelta(days=1)
    ingest_days(client, [day - timedelta(days=1)], users_per_day=3)
    body = get(client, "dau", date=day, tz="UTC", compare="previous")
    assert body["previous"] == {
        "dau": 3,
        "date": str(day - timedelta(days=1)),
        "period": "24h",
        "timezone": "UTC",
    }


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"compare": "last_year"}, "compare"),
        ({"start": "1970-01-01", "end": "1970-01-02", "compare": "previous"}, "compare"),
        ({"comparison": "previous"}, "comparison"),
    ],
)
def test_a_bad_comparison_is_a_422_naming_it(client, params, named):
    response = client.get("/api/analytics/reports/engagement", params=params)
    assert response.status_code == 422
    assert named in response.json()["errors"]["query"]


def test_exports_still_reach_into_the_future_and_take_no_compare(client):
    tomorrow = today() + timedelta(days=1)
    response = client.get(
        "/api/analytics/reports/events", params={"start": tomorrow, "end": tomorrow}
    )
    assert response.status_code == 200
    response = client.get("/api/analytics/reports/events", params={"compare": "previous"})
    assert response.status_code == 422


def test_the_first_reportable_day_has_no_previous_range_but_answers(client):
    body = get(client, "dau", date=date(1970, 1, 1), tz="UTC")
    assert body["dau"] == 0

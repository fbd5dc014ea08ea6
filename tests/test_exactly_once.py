"""A retried event is stored once, whichever day (and so partition) each attempt lands on,
whichever path its batch takes (one statement, or COPY), and however many senders race."""

import threading
from datetime import UTC, datetime, timedelta

import pytest

from analytics_app import partitions
from analytics_app.ingest.writer import COPY_FROM

from helpers import count_events, make_event, query

# Midnight two days ago: the first attempt lands just before it, the retry just after.
MIDNIGHT = (datetime.now(UTC) - timedelta(days=2)).replace(
    hour=0, minute=0, second=0, microsecond=0
)


def rfc3339(moment):
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture
def both_days(app, client, backend):
    """Partitions for the days on either side of ``MIDNIGHT`` (PostgreSQL)."""
    fillers = [
        make_event(user_id="filler", ts=rfc3339(MIDNIGHT + timedelta(hours=hours)))
        for hours in (-12, 12)
    ]
    assert client.ingest(fillers).json()["ingested"] == 2
    with app.app_context():
        partitions.make_ahead()


def days_stored(app, user_id):
    rows = query(app, "SELECT ts FROM events WHERE user_id = :user", user=user_id)
    return {str(ts)[:10] for (ts,) in rows}


@pytest.mark.parametrize("size", [1, COPY_FROM + 20], ids=["statement", "copy"])
def test_a_retry_whose_corrected_time_crosses_midnight_is_a_duplicate(app, client, both_days, size):
    events = [
        make_event(user_id="straddler", ts=rfc3339(MIDNIGHT - timedelta(milliseconds=500 + n)))
        for n in range(size)
    ]
    now = datetime.now(UTC)
    first = client.ingest(events, headers={"X-Sent-At": rfc3339(now)})
    assert first.json() == {"ingested": size, "duplicates": 0}
    # The client's clock is now 3 s behind: the server moves every time 3 s later.
    late_clock = {"X-Sent-At": rfc3339(datetime.now(UTC) - timedelta(seconds=3))}
    newcomers = [make_event(user_id="newcomer") for _ in range(3)]
    retry = client.ingest(events + newcomers, headers=late_clock)
    assert retry.json() == {"ingested": 3, "duplicates": size}
    assert count_events(app) == 2 + size + 3
    assert days_stored(app, "straddler") == {str((MIDNIGHT - timedelta(days=1)).date())}


@pytest.mark.parametrize("size", [20, COPY_FROM + 50], ids=["statement", "copy"])
def test_concurrent_senders_of_the_same_batch_store_it_once(app, client, size):
    events = [make_event(user_id=f"racer-{n % 9}") for n in range(size)]
    senders = 6
    barrier = threading.Barrier(senders)
    answers = []

    def send():
        barrier.wait()
        answers.append(client.ingest(events).json())

    threads = [threading.Thread(target=send) for _ in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(answer["ingested"] for answer in answers) == size
    assert sum(answer["duplicates"] for answer in answers) == size * (senders - 1)
    assert count_events(app) == size
    stored = query(app, "SELECT count(DISTINCT client_id) FROM events")[0][0]
    assert stored == size


@pytest.mark.parametrize("size", [4, COPY_FROM + 4], ids=["statement", "copy"])
def test_an_id_repeated_inside_a_batch_is_stored_once_the_first_time(app, client, size):
    events = [make_event(user_id=f"user-{n}") for n in range(size)]
    events[-1]["id"] = events[0]["id"]
    assert client.ingest(events).json() == {"ingested": size - 1, "duplicates": 1}
    users = query(app, "SELECT user_id FROM events WHERE client_id = :id", id=events[0]["id"])
    assert users == [("user-0",)]

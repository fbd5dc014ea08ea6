"""Task messages are JSON in the queue, never pickles: writing to Redis runs no code."""

import json
import sqlite3
from datetime import datetime, timedelta

import pytest
import redis
from huey.registry import Message
from huey.utils import Error

from analytics_app.tasks.serializer import JsonSerializer

from helpers import Client, make_token

ADMIN = make_token(sub="queue-admin", scope="analytics:admin")


def raw_queued_messages(app, backend):
    """The queue's messages as bytes, read from the store itself rather than through Huey."""
    huey = app.extensions["huey"]
    if backend["name"] == "postgresql":
        return redis.Redis.from_url(backend["REDIS_URL"]).lrange(huey.storage.queue_key, 0, -1)
    with sqlite3.connect(huey.storage.filename) as connection:
        rows = connection.execute("SELECT data FROM task WHERE queue = 'analytics'").fetchall()
    return [bytes(data) for (data,) in rows]


def test_a_queued_task_is_a_json_message_naming_the_task_and_its_job_id(make_app, serve, backend):
    app = make_app(HUEY_IMMEDIATE="false")
    huey = app.extensions["huey"]
    huey.flush()
    try:
        response = Client(serve(app).url, ADMIN).request("DELETE", "/api/analytics/users/alice")
        assert response.status_code == 202
        (raw,) = raw_queued_messages(app, backend)
        assert not raw.startswith(b"\x80"), "a pickle"
        message = json.loads(raw)
        assert message["fields"]["name"].endswith("erase_user")
        assert message["fields"]["args"] == [response.json()["id"]]
        assert huey.dequeue().args == (response.json()["id"],)
    finally:
        huey.flush()


def test_retry_times_and_failures_survive_the_round_trip():
    serializer = JsonSerializer()
    eta = datetime(2026, 12, 6, 15, 22, 4, 961000)
    message = Message("id-1", "tasks.export", eta, 2, 30, None, (7,), {"part": "a"})
    assert serializer.deserialize(serializer.serialize(message)) == message
    failure = Error({"error": "RuntimeError('x')", "retries": 0, "task_id": "id-1"})
    assert serializer.deserialize(serializer.serialize(failure)) == failure
    revoked = (eta + timedelta(hours=1), True)
    assert serializer.deserialize(serializer.serialize(revoked)) == list(revoked)


@pytest.mark.parametrize("argument", [object(), {1: "not a string key"}, {"__huey__": "forged"}])
def test_a_task_argument_that_is_not_plain_data_is_refused_when_queued(argument):
    message = Message("id-2", "tasks.export", None, 0, 0, None, (argument,), {})
    with pytest.raises(TypeError):
        JsonSerializer().serialize(message)

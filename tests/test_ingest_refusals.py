"""Every bad input gets a clear 4xx JSON error, stores nothing, and is audited."""

import gzip
import json
from datetime import UTC, datetime, timedelta

import pytest

from helpers import count_events, make_event, query

NOW = datetime.now(UTC)
JSON = {"Content-Type": "application/json"}


def body(*events):
    return json.dumps(list(events)).encode()


def event_with(**overrides):
    return make_event(**overrides)


def without(field):
    event = make_event()
    del event[field]
    return event


def nested(depth, leaf="1"):
    return "[" * depth + leaf + "]" * depth


def gzip_bomb():
    # 1 MiB of compressed zeros inflates to ~1 GiB: far past the 5 MiB body limit.
    return gzip.compress(b"[" + b" " * (64 * 1024 * 1024) + b"]", compresslevel=9)


def chunks(total, size=1024 * 1024):
    for _ in range(total // size):
        yield b" " * size


# (id, body bytes (or a function making a chunked body), extra headers, status,
#  the field errors.json["0"] must name, or None)
CASES = [
    ("malformed-json", b'[{"ts": ', {}, 400, None),
    ("trailing-garbage", body(make_event()) + b" x", {}, 400, None),
    ("empty-body", b"", {}, 400, None),
    ("whitespace-body", b"   ", {}, 400, None),
    ("non-utf8-bytes", b'[{"user_id": "\xff\xfe"}]', {}, 400, None),
    (
        "non-utf8-in-payload",
        body(make_event()).replace(b"/dashboard", b"/dash\xc3\x28"),
        {},
        400,
        None,
    ),
    (
        "lone-surrogate",
        body(make_event(payload={"a": "x"})).replace(b'"x"', b'"\\ud800"'),
        {},
        400,
        None,
    ),
    ("deep-nesting-5000", nested(5000).encode(), {}, 400, None),
    (
        "deep-nesting-5000-in-payload",
        body(make_event()).replace(b'{"page"', ('{"x": ' + nested(5000) + ', "page"').encode()),
        {},
        400,
        None,
    ),
    ("body-20mb", b"[" + b" " * (20 * 1024 * 1024) + b"]", {}, 413, None),
    ("body-20mb-chunked", lambda: chunks(20 * 1024 * 1024), {}, 413, None),
    ("gzip-bomb", gzip_bomb(), {"Content-Encoding": "gzip"}, 413, None),
    ("gzip-invalid", b"not gzip at all", {"Content-Encoding": "gzip"}, 400, None),
    (
        "gzip-truncated",
        gzip.compress(body(make_event()))[:-8],
        {"Content-Encoding": "gzip"},
        400,
        None,
    ),
    ("content-encoding-br", body(make_event()), {"Content-Encoding": "br"}, 415, None),
    ("content-type-text", body(make_event()), {"Content-Type": "text/plain"}, 415, None),
    ("content-type-form", b"a=1", {"Content-Type": "application/x-www-form-urlencoded"}, 415, None),
    (
        "charset-latin1",
        body(make_event()),
        {"Content-Type": "application/json; charset=latin-1"},
        415,
        None,
    ),
    ("json-string", b'"hello"', {}, 422, None),
    ("json-number", b"42", {}, 422, None),
    ("json-null", b"null", {}, 422, None),
    ("empty-array", b"[]", {}, 422, None),
    ("batch-over-limit", body(*[make_event() for _ in range(1001)]), {}, 413, None),
    ("element-not-object", b"[5]", {}, 422, "_schema"),
    ("missing-ts", body(without("ts")), {}, 422, "ts"),
    ("missing-user-id", body(without("user_id")), {}, 422, "user_id"),
    ("missing-type", body(without("type")), {}, 422, "type"),
    ("empty-user-id", body(event_with(user_id="")), {}, 422, "user_id"),
    ("long-user-id", body(event_with(user_id="u" * 256)), {}, 422, "user_id"),
    ("numeric-user-id", body(event_with(user_id=123)), {}, 422, "user_id"),
    ("unknown-type", body(event_with(type="purchase")), {}, 422, "type"),
    ("type-not-string", body(event_with(type=["page_view"])), {}, 422, "type"),
    ("long-src", body(event_with(src="s" * 65)), {}, 422, "src"),
    ("payload-array", body(event_with(payload=[1, 2])), {}, 422, "payload"),
    ("payload-string", body(event_with(payload="{}")), {}, 422, "payload"),
    ("payload-over-32k", body(event_with(payload={"blob": "x" * 33000})), {}, 422, "payload"),
    (
        "payload-too-deep",
        body(event_with(payload=json.loads('{"a":' * 40 + "1" + "}" * 40))),
        {},
        422,
        "payload",
    ),
    ("unknown-field", body(event_with(color="red")), {}, 422, "color"),
    ("ts-date-only", body(event_with(ts="2024-01-01")), {}, 422, "ts"),
    ("ts-impossible-date", body(event_with(ts="2024-02-30T12:00:00Z")), {}, 422, "ts"),
    ("ts-epoch-number", body(event_with(ts=1700000000)), {}, 422, "ts"),
    ("ts-garbage", body(event_with(ts="yesterday")), {}, 422, "ts"),
    ("ts-far-future", body(event_with(ts=(NOW + timedelta(days=1)).isoformat())), {}, 422, "ts"),
    (
        "ts-past-retention",
        body(event_with(ts=(NOW - timedelta(days=91)).isoformat())),
        {},
        422,
        "ts",
    ),
    ("nul-in-user-id", body(event_with(user_id="bob\u0000")), {}, 422, "user_id"),
    ("nul-in-type", body(event_with(type="page_view\u0000")), {}, 422, "type"),
    ("nul-in-src", body(event_with(src="web\u0000")), {}, 422, "src"),
    ("nul-in-id", body(event_with(id="abc\u0000")), {}, 422, "id"),
    ("newline-in-user-id", body(event_with(user_id="bob\nsmith")), {}, 422, "user_id"),
    ("tab-in-src", body(event_with(src="\tweb")), {}, 422, "src"),
    ("carriage-return-in-user-id", body(event_with(user_id="\r=1+1")), {}, 422, "user_id"),
    ("del-in-user-id", body(event_with(user_id="bob\x7f")), {}, 422, "user_id"),
    ("nul-in-payload-value", body(event_with(payload={"q": "a\u0000b"})), {}, 422, "payload"),
    ("nul-in-payload-key", body(event_with(payload={"k\u0000": 1})), {}, 422, "payload"),
    ("empty-client-id", body(event_with(id="")), {}, 422, "id"),
    ("long-client-id", body(event_with(id="i" * 129)), {}, 422, "id"),
    (
        "payload-huge-exponent",
        body(event_with(payload={"n": 1})).replace(b'"n": 1', b'"n": 1e400000'),
        {},
        422,
        "payload",
    ),
    (
        "payload-deep-and-huge",
        body(event_with(payload={"n": 1})).replace(
            b'"n": 1', b'"n": ' + nested(40, "1e500").encode()
        ),
        {},
        422,
        "payload",
    ),
    ("sent-at-year-one", body(make_event()), {"X-Sent-At": "0001-01-01T00:00:00Z"}, 422, "ts"),
    ("sent-at-garbage", body(make_event()), {"X-Sent-At": "soon"}, 400, None),
    ("sent-at-naive", body(make_event()), {"X-Sent-At": "2024-01-01T00:00:00"}, 400, None),
]


@pytest.mark.parametrize(
    ("data", "headers", "status", "field"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_bad_input_is_refused_and_nothing_is_stored(app, client, data, headers, status, field):
    data = data() if callable(data) else data
    response = client.post("/api/analytics/ingest", data=data, headers={**JSON, **headers})
    assert response.status_code == status, response.text
    error = response.json()
    assert error["code"] == status
    assert error["status"] and error["message"]
    if field is not None:
        assert field in error["errors"]["json"]["0"], error
    assert count_events(app) == 0
    [(audited_status, stored)] = query(app, "SELECT http_status, events_stored FROM ingest_audit")
    assert (audited_status, stored) == (status, 0)


def test_there_are_at_least_thirty_distinct_bad_inputs():
    assert len({case[0] for case in CASES}) == len(CASES) >= 30


def test_one_bad_event_refuses_the_whole_batch_naming_every_problem(app, client):
    events = [
        make_event(),
        make_event(user_id="", type="nope"),
        make_event(),
        {"ts": "x", "extra": 1},
    ]
    response = client.ingest(events)
    assert response.status_code == 422
    errors = response.json()["errors"]["json"]
    assert set(errors) == {"1", "3"}
    assert set(errors["1"]) == {"user_id", "type"}
    assert set(errors["3"]) == {"ts", "extra", "user_id", "type"}
    assert count_events(app) == 0


def test_semantic_errors_are_named_alongside_type_errors(client):
    """A type error elsewhere in the event does not hide a payload or time problem."""
    old = (NOW - timedelta(days=200)).isoformat()
    response = client.ingest([make_event(user_id=5, ts=old, payload=[1])])
    assert set(response.json()["errors"]["json"]["0"]) == {"user_id", "ts", "payload"}


def test_naive_timestamps_can_be_refused_by_configuration(make_app, serve):
    from helpers import Client, make_token

    app = make_app(ACCEPT_NAIVE_TIMESTAMPS="false")
    client = Client(serve(app).url, make_token())
    naive = NOW.replace(tzinfo=None).isoformat()
    response = client.ingest([make_event(ts=naive)])
    assert response.status_code == 422
    assert response.json()["errors"]["json"]["0"]["ts"] == ["must carry a UTC offset or Z"]
    assert count_events(app) == 0


def test_unauthenticated_batches_are_refused_before_the_body_is_read(app, client):
    response = client.ingest([make_event()], token=None)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert count_events(app) == 0

"""The validator's column-at-a-time fast path agrees with its event-by-event checks."""

import json
import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from analytics_app.config import load_config
from analytics_app.errors import EventValidationError
from analytics_app.ingest import raw_json
from analytics_app.ingest.validation import Batch, Rules, Validator, _batch_decoder

from helpers import SECRET

NOW = datetime.now(UTC)


@pytest.fixture(scope="module")
def rules(tmp_path_factory):
    env = {"APP_ENV": "test", "JWT_SECRET_KEY": SECRET}
    return Rules.from_config(load_config(env, tmp_path_factory.mktemp("config")))


def random_event(rng, payload_optional=False):
    """A valid event with the optional parts varied: ids, sources, payloads, offsets."""
    moment = NOW - timedelta(seconds=rng.uniform(0, 86400))
    if rng.random() < 0.3:
        moment = moment.astimezone(datetime.now().astimezone().tzinfo)
    event = {
        "ts": moment.isoformat(),
        "user_id": f"user-{rng.randrange(50)}",
        "type": rng.choice(["page_view", "button_click", "search_query"]),
    }
    if rng.random() < 0.8:
        event["id"] = str(uuid.UUID(int=rng.getrandbits(128)))
    if rng.random() < 0.8:
        event["src"] = rng.choice(["web_app", "", None])
    payload = rng.choice(
        [{"page": "/a", "n": 1.5e300}, {"q": "tab\tand ünïcode"}, {"deep": [[[{}]]]}, {}]
    )
    if not payload_optional or rng.random() < 0.8:
        event["payload"] = rng.choice([payload, None]) if payload_optional else payload
    return event


def event_by_event(validator, body):
    """The batch the per-event checks build, bypassing the column path."""
    validator.nul_escapes = validator.huge_exponents = True
    batch = Batch()
    errors = {}
    for index, event in enumerate(_batch_decoder.decode(body)):
        validator._check(index, event, batch, errors)
    assert not errors
    return batch


@pytest.mark.parametrize("payload_optional", [False, True])
@pytest.mark.parametrize("seed", range(10))
def test_column_path_stores_what_the_event_path_stores(rules, seed, payload_optional):
    rng = random.Random(seed)
    events = [random_event(rng, payload_optional) for _ in range(rng.randrange(1, 40))]
    body = json.dumps(events).encode()
    skew = timedelta(seconds=rng.choice([0, 5, -30]))
    fast = Validator(rules, NOW)
    fast.skew, fast.control_escapes = skew, True
    taken = fast._columns(_batch_decoder.decode(body)) is not None
    assert taken or payload_optional  # every payload an object: the column path holds it
    slow = Validator(rules, NOW)
    slow.skew = skew
    assert Validator(rules, NOW).validate(body, skew) == event_by_event(slow, body)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"type": "purchase"}, "type"),
        ({"ts": (NOW + timedelta(days=1)).isoformat()}, "ts"),
        ({"ts": (NOW - timedelta(days=91)).isoformat()}, "ts"),
        ({"user_id": "bob\nsmith"}, "user_id"),
        ({"payload": {"a": "x\u0000"}}, "payload"),
        ({"payload": [1]}, "payload"),
        ({"payload": json.loads('{"a":' * 40 + "1" + "}" * 40)}, "payload"),
    ],
)
def test_one_bad_event_among_good_ones_is_named(rules, change, field):
    rng = random.Random(1)
    events = [random_event(rng) for _ in range(30)]
    events[17].update(change)
    with pytest.raises(EventValidationError) as refused:
        Validator(rules, NOW).validate(json.dumps(events).encode())
    assert list(refused.value.errors["json"]) == ["17"]
    assert field in refused.value.errors["json"]["17"]


def test_a_huge_exponent_is_found_however_it_is_written(rules):
    for number in ("1e1000", "1E+1000", "-2.5e-0001000", "7e00001234"):
        payload = f'{{"n": [{number}]}}'.encode()
        assert raw_json.may_hold_huge_number(payload), number
        assert raw_json.has_huge_number(payload), number
    assert not raw_json.may_hold_huge_number(b'{"n": 1e999, "session": "sess-12345-3"}')


def test_most_openings_counts_each_text_apart():
    assert raw_json.most_openings(b'{"a": [1]}\x00{"b": {"c": [{}]}}\x00{}') == 4

"""Decode and validate an ingest body into columns ready for the batch writer.

Two paths share one set of rules:

* the fast path decodes the whole batch with msgspec into typed structs in one C call, keeping
  each payload as the raw bytes the client sent (no re-encoding), then runs the semantic checks
  on whole columns (``min``/``max``, set inclusion, one scan of all payloads): C loops, not
  Python calls per event;
* only when a check fails are the events checked one by one, and only when decoding fails does
  the diagnosis path take the batch apart field by field, so the 422 names every problem by
  index and field.

The OpenAPI document describes the same event with a marshmallow schema
(``api.schemas.EventSchema``); a test keeps the two in step.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import repeat
from typing import Annotated

import msgspec
from msgspec import Meta, Raw

from ..errors import BatchTooLargeError, EventValidationError, MalformedBodyError
from . import raw_json

UserId = Annotated[str, Meta(min_length=1, max_length=255)]
Source = Annotated[str, Meta(max_length=64)]
ClientId = Annotated[str, Meta(min_length=1, max_length=128)]


class WireEvent(msgspec.Struct, forbid_unknown_fields=True):
    """One event as a client sends it."""

    ts: datetime
    user_id: UserId
    type: str
    src: Source | None = None
    payload: Raw = Raw()
    id: ClientId | None = None


FIELD_TYPES = {
    "ts": datetime,
    "user_id": UserId,
    "type": str,
    "src": Source | None,
    "payload": Raw,
    "id": ClientId | None,
}
REQUIRED_FIELDS = ("ts", "user_id", "type")

_batch_decoder = msgspec.json.Decoder(list[WireEvent])
_event_decoder = msgspec.json.Decoder(WireEvent)
_items_decoder = msgspec.json.Decoder(list[Raw])
_object_decoder = msgspec.json.Decoder(dict[str, Raw])
_field_decoders = {name: msgspec.json.Decoder(kind) for name, kind in FIELD_TYPES.items()}
_any_decoder = msgspec.json.Decoder()

# Identifiers and labels: no control characters (CSV and Excel exports rely on it).
PLAIN_FIELDS = ("user_id", "type", "src", "id")


@dataclass
class Batch:
    """Validated events as parallel columns (the shape both writers want)."""

    client_id: list = field(default_factory=list)
    ts: list = field(default_factory=list)
    user_id: list = field(default_factory=list)
    type: list = field(default_factory=list)
    src: list = field(default_factory=list)
    payload: list = field(default_factory=list)

    def __len__(self):
        return len(self.ts)


@dataclass(frozen=True)
class Rules:
    """The limits an event must respect, read from the app config."""

    allowed_types: frozenset
    max_batch_size: int
    max_payload_bytes: int
    max_payload_depth: int
    accept_naive: bool
    future_tolerance: timedelta
    retention: timedelta

    @classmethod
    def from_config(cls, config):
        return cls(
            allowed_types=config["ALLOWED_EVENT_TYPES"],
            max_batch_size=config["MAX_BATCH_SIZE"],
            max_payload_bytes=config["MAX_PAYLOAD_BYTES"],
            max_payload_depth=config["MAX_PAYLOAD_DEPTH"],
            accept_naive=config["ACCEPT_NAIVE_TIMESTAMPS"],
            future_tolerance=timedelta(seconds=config["CLOCK_SKEW_TOLERANCE_SECONDS"]),
            retention=timedelta(days=config["EVENT_RETENTION_DAYS"]),
        )


class Validator:
    """Validate one request body against the rules, at one instant."""

    def __init__(self, rules, now):
        self.rules = rules
        self.skew = timedelta(0)
        self.latest = now + rules.future_tolerance
        self.earliest = now - rules.retention
        # Set per body: whether control characters, NUL or huge exponents can be in it at all,
        # so most bodies skip those checks (see the gates above).
        self.control_escapes = False
        self.nul_escapes = False
        self.huge_exponents = False
        # How many events the body held, once known: the audit trail records it.
        self.received = 0

    def validate(self, body, skew=timedelta(0)):
        """Return the batch as columns, or raise the error that names every problem.

        ``skew`` is how far the client's clock runs behind ours; it is added to every ``ts``.
        """
        self.skew = skew
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as error:
            raise MalformedBodyError(f"request body is not UTF-8 (byte {error.start})") from None
        self.control_escapes = raw_json.may_hold_control(body)
        start = body.lstrip()[:1]
        if start not in (b"[", b"{"):
            if start == b"":
                raise MalformedBodyError("request body is empty")
            self._raise_if_malformed(body)
            raise EventValidationError(
                errors={"json": {"_schema": ["expected an array of events or one event object"]}}
            )
        try:
            events = _batch_decoder.decode(body) if start == b"[" else [_event_decoder.decode(body)]
        except (msgspec.DecodeError, RecursionError):
            self._gate_payload_checks(body)
            return self._diagnose(body, start)
        self._check_size(len(events))
        batch = self._columns(events)
        if batch is not None:
            return batch
        self._gate_payload_checks(body)
        batch, errors = Batch(), {}
        for index, event in enumerate(events):
            self._check(index, event, batch, errors)
        if errors:
            raise EventValidationError(errors={"json": errors})
        return batch

    def _gate_payload_checks(self, body):
        """Scan the body once for what would make the per-payload NUL and number checks needed."""
        self.nul_escapes = raw_json.may_hold_nul(body)
        self.huge_exponents = raw_json.may_hold_huge_number(body)

    def _columns(self, events):
        """Return the batch if every event passes every rule; None sends it event by event.

        Each rule is one pass over a column in C. Rarer inputs (naive times, payloads that are
        null, absent or not objects, NUL or huge-number escapes) simply take the slower path.
        """
        client_id = [event.id for event in events]
        ts = [event.ts for event in events]
        user_id = [event.user_id for event in events]
        types = [event.type for event in events]
        src = [event.src or None for event in events]  # an empty source is no source
        raw = [event.payload for event in events]
        if not self.rules.allowed_types.issuperset(types):
            return None
        try:
            if self.skew:
                ts = [moment + self.skew for moment in ts]
            if min(ts) < self.earliest or max(ts) > self.latest:
                return None
        except (TypeError, OverflowError):  # a naive time cannot be compared with aware ones
            return None
        if self.control_escapes and any(
            raw_json.CONTROL_CHARACTER.search("".join(filter(None, column)))
            for column in (client_id, user_id, types, src)
        ):
            return None
        # Every payload, NUL-separated (JSON text never holds a NUL byte), scanned at once.
        payloads = b"\x00".join(raw)
        if (
            payloads[:1] != b"{"
            or payloads.count(b"\x00{") != len(raw) - 1
            or max(map(len, raw)) > self.rules.max_payload_bytes
            or raw_json.most_openings(payloads) > self.rules.max_payload_depth
            or raw_json.may_hold_nul(payloads)
            or raw_json.may_hold_huge_number(payloads)
        ):
            return None
        return Batch(client_id, ts, user_id, types, src, list(map(str, raw, repeat("utf-8"))))

    def _check_size(self, count):
        self.received = count
        if count == 0:
            raise EventValidationError(errors={"json": {"_schema": ["the batch is empty"]}})
        if count > self.rules.max_batch_size:
            raise BatchTooLargeError(
                f"batch too large: {count} events, at most {self.rules.max_batch_size}"
            )

    def _check(self, index, event, batch, errors):
        """Apply the rules the types cannot express; append the event or record its errors."""
        problems = {}
        ts = self._timestamp(event.ts, problems)
        self._type(event.type, problems)
        if self.control_escapes:
            for name in PLAIN_FIELDS:
                self._no_control(name, getattr(event, name), problems)
        payload = self._payload(bytes(event.payload), problems)
        if problems:
            errors[str(index)] = problems
            return
        batch.client_id.append(event.id)
        batch.ts.append(ts)
        batch.user_id.append(event.user_id)
        batch.type.append(event.type)
        batch.src.append(event.src or None)  # an empty source is no source
        batch.payload.append(payload)

    def _type(self, value, problems):
        if value not in self.rules.allowed_types:
            problems["type"] = [f"unknown event type {value!r}"]

    @staticmethod
    def _no_control(name, value, problems):
        if isinstance(value, str) and raw_json.CONTROL_CHARACTER.search(value):
            problems[name] = ["must not contain control characters (tab, newline, NUL…)"]

    def _timestamp(self, ts, problems):
        if ts.tzinfo is None:
            if not self.rules.accept_naive:
                problems["ts"] = ["must carry a UTC offset or Z"]
                return None
            ts = ts.replace(tzinfo=UTC)
        try:
            ts = ts + self.skew
        except OverflowError:
            problems["ts"] = ["is out of range once corrected by X-Sent-At"]
            return None
        if ts > self.latest:
            problems["ts"] = ["is in the future beyond the clock-skew tolerance"]
        elif ts < self.earliest:
            problems["ts"] = ["is older than the event retention window"]
        return ts

    def _payload(self, raw, problems):
        """Return the payload as JSON text (or None), checking it without re-encoding it."""
        if not raw or raw == b"null":
            return None
        if raw[:1] != b"{":
            problems["payload"] = ["must be a JSON object"]
        elif len(raw) > self.rules.max_payload_bytes:
            problems["payload"] = [f"is larger than {self.rules.max_payload_bytes} bytes"]
        elif raw_json.deeper_than(raw, self.rules.max_payload_depth):
            problems["payload"] = [f"nests deeper than {self.rules.max_payload_depth} levels"]
        elif self.nul_escapes and raw_json.has_nul(raw):
            problems["payload"] = ["must not contain NUL characters"]
        elif self.huge_exponents and raw_json.has_huge_number(raw):
            problems["payload"] = ["numbers must have an exponent below 1000"]
        else:
            return raw.decode("utf-8")
        return None

    def _raise_if_malformed(self, body):
        try:
            _any_decoder.decode(body)
        except msgspec.DecodeError as error:
            raise MalformedBodyError(f"request body is not valid JSON: {error}") from None
        except RecursionError:
            raise MalformedBodyError("request body nests too deeply") from None

    def _diagnose(self, body, start):
        """Find every problem in a batch the fast path refused, by index and field."""
        self._raise_if_malformed(body)
        items = _items_decoder.decode(body) if start == b"[" else [msgspec.Raw(body)]
        self._check_size(len(items))
        errors = {}
        for index, item in enumerate(items):
            try:
                self._check(index, _event_decoder.decode(item), Batch(), errors)
            except (msgspec.DecodeError, RecursionError):
                errors[str(index)] = self._field_errors(item)
        raise EventValidationError(errors={"json": errors})

    def _field_errors(self, item):
        """Name each field of one event that breaks a rule, is unknown or is missing."""
        try:
            fields = _object_decoder.decode(item)
        except msgspec.DecodeError:
            return {"_schema": ["expected an event object"]}
        problems = {
            name: ["missing required field"] for name in REQUIRED_FIELDS if name not in fields
        }
        for name, raw in fields.items():
            decoder = _field_decoders.get(name)
            if decoder is None:
                problems[name] = ["unknown field"]
                continue
            try:
                value = decoder.decode(raw)
            except msgspec.ValidationError as error:
                problems[name] = [str(error).split(" - at ")[0]]
                continue
            if name == "ts":
                self._timestamp(value, problems)
            elif name == "type":
                self._type(value, problems)
            elif name == "payload":
                self._payload(bytes(value), problems)
            if self.control_escapes and name in PLAIN_FIELDS:
                self._no_control(name, value, problems)
        return problems or {"_schema": ["invalid event"]}

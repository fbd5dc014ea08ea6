"""Huey's messages as JSON, never pickles.

Huey pickles by default, so anyone who can write to Redis could make the worker run any code.
Our tasks take ids, so a message is plain data: the task's name, its arguments, and Huey's own
fields (times, retries, a failed task's error). Those few types are tagged with ``__huey__``;
anything else (an ORM object, a function) is refused when the task is queued.
"""

import json
from datetime import datetime

from huey.registry import Message
from huey.serializer import Serializer
from huey.utils import Error

TAG = "__huey__"


def _encode(value):
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, Message):
        fields = {name: _encode(item) for name, item in value._asdict().items()}
        return {TAG: "message", "fields": fields}
    if isinstance(value, datetime):
        return {TAG: "datetime", "value": value.isoformat()}
    if isinstance(value, Error):
        return {TAG: "error", "metadata": _encode(value.metadata)}
    if isinstance(value, list | tuple):
        return [_encode(item) for item in value]
    if isinstance(value, dict) and TAG not in value and all(isinstance(k, str) for k in value):
        return {key: _encode(item) for key, item in value.items()}
    raise TypeError(f"task data must be plain JSON values and ids, not {type(value).__name__}")


def _decode(value):
    if isinstance(value, list):
        return [_decode(item) for item in value]
    if not isinstance(value, dict):
        return value
    kind = value.get(TAG)
    if kind == "message":
        fields = {name: _decode(item) for name, item in value["fields"].items()}
        fields["args"] = tuple(fields["args"] or ())
        return Message(**fields)
    if kind == "datetime":
        return datetime.fromisoformat(value["value"])
    if kind == "error":
        return Error(_decode(value["metadata"]))
    return {key: _decode(item) for key, item in value.items()}


class JsonSerializer(Serializer):
    """Huey's serializer, writing JSON (UTF-8) instead of pickles."""

    def _serialize(self, data):
        return json.dumps(_encode(data), separators=(",", ":")).encode()

    def _deserialize(self, data):
        return _decode(json.loads(data))

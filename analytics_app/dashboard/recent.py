"""The latest events of a selection, for the self-refreshing table on the overview."""

import json

from ..reports import raw, source
from ..reports.periods import as_utc

LIMIT = 20
PAYLOAD_CHARS = 240


def _payload_text(payload):
    """The payload as compact JSON text, cut short; the template escapes it."""
    if payload is None:
        return ""
    if isinstance(payload, str):  # SQLite may hand JSON back as text
        payload = json.loads(payload)
    text = json.dumps(payload, ensure_ascii=False, separators=(", ", ": "))
    return text if len(text) <= PAYLOAD_CHARS else text[: PAYLOAD_CHARS - 1] + "…"


def latest(selection, limit=LIMIT):
    """The newest ``limit`` events in the selection's range and filters, newest first."""
    lo, hi = selection.span()
    with source.on_replica():
        rows = raw.latest_events(lo, hi, selection.filters, limit)
    return [
        {
            "time": as_utc(ts).astimezone(selection.zone).strftime("%Y-%m-%d %H:%M:%S"),
            "user_id": user_id,
            "type": type_,
            "src": src or "",
            "payload": _payload_text(payload),
        }
        for ts, user_id, type_, src, payload in rows
    ]

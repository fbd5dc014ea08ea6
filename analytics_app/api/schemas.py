"""Marshmallow schemas that document the API (the ingest hot path validates with msgspec)."""

from marshmallow import Schema, fields, validate


class EventSchema(Schema):
    """One event as a client sends it."""

    class Meta:
        ordered = True

    id = fields.String(
        allow_none=True,
        validate=validate.Length(1, 128),
        metadata={"description": "Client-made unique id (a UUID): retries never double-count."},
    )
    ts = fields.AwareDateTime(
        required=True,
        metadata={"description": "When it happened, RFC 3339; a naive time is read as UTC."},
    )
    user_id = fields.String(required=True, validate=validate.Length(1, 255))
    type = fields.String(
        required=True, metadata={"description": "One of the configured event types."}
    )
    src = fields.String(allow_none=True, validate=validate.Length(max=64))
    payload = fields.Dict(
        allow_none=True,
        metadata={"description": "Free-form JSON object, at most 32 KiB serialized."},
    )


class IngestResultSchema(Schema):
    ingested = fields.Integer(
        required=True, metadata={"description": "Events newly stored by this request."}
    )
    duplicates = fields.Integer(
        required=True,
        metadata={"description": "Events skipped because their id was already stored."},
    )
    dropped = fields.Integer(
        metadata={"description": "Present when non-zero: events of erased users, not stored."}
    )


class HealthSchema(Schema):
    status = fields.String(required=True, metadata={"description": "ok or unavailable"})
    database = fields.String(required=True)
    redis = fields.String(required=True)
    version = fields.String(required=True)


def register(spec, allowed_types):
    """Add the schemas the views reference by name, with this deployment's event types."""
    spec.components.schema("Event", schema=EventSchema)
    spec.components.schemas["Event"]["properties"]["type"]["enum"] = sorted(allowed_types)

"""Query and response schemas of the report endpoints."""

from datetime import timedelta

from flask import current_app
from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema

from ..reports.periods import UnknownTimeZoneError, today_in, zone

MAX_RANGE_DAYS = 366


class ReportQuerySchema(Schema):
    """A time zone, a range of local days, and the event filters."""

    tz = fields.String(
        validate=validate.Length(1, 64),
        metadata={
            "description": "IANA time zone of the report days (default REPORT_TIMEZONE).",
            "example": "Europe/Berlin",
        },
    )
    start = fields.Date(metadata={"description": "First local day of the range (YYYY-MM-DD)."})
    end = fields.Date(metadata={"description": "Last local day of the range, included."})
    type = fields.String(validate=validate.Length(1, 64))
    src = fields.String(validate=validate.Length(1, 64))
    user_id = fields.String(validate=validate.Length(1, 255))

    # How many days a range covers when only its end (or nothing) is given, and at most.
    default_days = 7
    max_days = MAX_RANGE_DAYS

    @validates("tz")
    def _known_zone(self, value, **kwargs):
        try:
            zone(value)
        except UnknownTimeZoneError as error:
            raise ValidationError(str(error)) from None

    @validates_schema
    def _sane_range(self, data, **kwargs):
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            raise ValidationError("start must not be after end", "start")
        if start and end and self.max_days and (end - start).days + 1 > self.max_days:
            raise ValidationError(f"a range covers at most {self.max_days} days", "end")

    def resolve(self, args):
        """Fill in the defaults: the report zone, and a range ending today."""
        tz = args.get("tz") or current_app.config["REPORT_TIMEZONE"]
        end = args.get("end") or today_in(zone(tz))
        start = args.get("start") or min(end, end - timedelta(days=self.default_days - 1))
        if start > end:
            raise ValidationError("start must not be after end")
        if (end - start).days + 1 > self.max_days:
            raise ValidationError(f"a range covers at most {self.max_days} days")
        return tz, start, end


class DauQuerySchema(ReportQuerySchema):
    date = fields.Date(metadata={"description": "One local day (default: today)."})

    @validates_schema
    def _date_or_range(self, data, **kwargs):
        if "date" in data and ("start" in data or "end" in data):
            raise ValidationError("give either date or start/end, not both", "date")
        if ("start" in data) != ("end" in data):
            raise ValidationError("start and end go together", "start" if "end" in data else "end")


class RetentionQuerySchema(ReportQuerySchema):
    """Cohorts are new users; filtering them by type or user makes no sense."""

    class Meta:
        exclude = ("type", "user_id")

    default_days = 30


class DauPointSchema(Schema):
    date = fields.String(metadata={"format": "date"})
    dau = fields.Integer()
    period = fields.String(metadata={"description": "Length of the local day: 23h, 24h or 25h."})


class DauSchema(Schema):
    """One day (``date`` given or default) or, with ``start``/``end``, a series."""

    dau = fields.Integer(metadata={"description": "Distinct users that day (single day)."})
    date = fields.String(metadata={"format": "date"})
    period = fields.String(metadata={"description": "Length of the local day: 23h, 24h or 25h."})
    timezone = fields.String(required=True)
    start = fields.String(metadata={"format": "date"})
    end = fields.String(metadata={"format": "date"})
    series = fields.List(fields.Nested(DauPointSchema), metadata={"description": "With a range."})


class ActivePointSchema(DauPointSchema):
    wau = fields.Integer(metadata={"description": "Distinct users in the 7 days ending that day."})
    mau = fields.Integer(metadata={"description": "Distinct users in the 30 days ending that day."})
    stickiness = fields.Float(metadata={"description": "dau / mau (0 when mau is 0)."})


class RangeSchema(Schema):
    timezone = fields.String(required=True)
    start = fields.String(required=True, metadata={"format": "date"})
    end = fields.String(required=True, metadata={"format": "date"})


class ActiveUsersSchema(RangeSchema):
    series = fields.List(fields.Nested(ActivePointSchema), required=True)


class PageViewsSchema(Schema):
    page = fields.String()
    views = fields.Integer()


class SessionsSchema(Schema):
    count = fields.Integer(metadata={"description": "Distinct payload.session_id values."})
    average_seconds = fields.Float(metadata={"description": "Mean first-to-last event span."})


class EngagementSchema(RangeSchema):
    events = fields.Integer()
    users = fields.Integer()
    events_per_user = fields.Float()
    by_type = fields.Dict(keys=fields.String(), values=fields.Integer())
    by_source = fields.Dict(
        keys=fields.String(), values=fields.Integer(), metadata={"description": "'' = no src."}
    )
    sessions = fields.Nested(SessionsSchema)
    top_pages = fields.List(fields.Nested(PageViewsSchema))


class RetainedSchema(Schema):
    users = fields.Integer(allow_none=True, metadata={"description": "null: not measurable yet."})
    rate = fields.Float(allow_none=True)


class CohortSchema(Schema):
    date = fields.String(metadata={"format": "date"})
    new_users = fields.Integer(metadata={"description": "Users whose first event was that day."})
    day_1 = fields.Nested(RetainedSchema)
    day_7 = fields.Nested(RetainedSchema)
    day_30 = fields.Nested(RetainedSchema)


class RetentionSchema(RangeSchema):
    cohorts = fields.List(fields.Nested(CohortSchema))

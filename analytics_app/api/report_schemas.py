"""Query and response schemas of the report endpoints.

Query schemas load into a ``ReportRange`` (under ``range``), so the range's defaults and limits
are applied in one place and a bad value is a 422 naming its parameter.
"""

from flask import current_app
from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)

from ..reports.range import (
    DATES_MESSAGE,
    EARLIEST_DATE,
    LATEST_DATE,
    MAX_RANGE_DAYS,
    Filters,
    RangeError,
    ReportRange,
)

QUERY = {"location": "query", "unknown": RAISE}
"""How report and export endpoints read their query: a parameter they do not know (a typo
such as ``timezone=``) is a 422 naming it, never silently ignored."""


# No stored text holds a NUL (ingest refuses it), and PostgreSQL cannot compare text with one.
NO_NUL = validate.Regexp(r"^[^\x00]*$", error="must not contain NUL characters")


def bounded_date(description):
    """A date parameter between ``EARLIEST_DATE`` and ``LATEST_DATE``."""
    within = validate.Range(min=EARLIEST_DATE, max=LATEST_DATE, error=DATES_MESSAGE)
    return fields.Date(validate=within, metadata={"description": description})


class ReportQuerySchema(Schema):
    """A time zone, a range of local days, and the event filters."""

    tz = fields.String(
        validate=validate.Length(1, 64),
        metadata={
            "description": "IANA time zone of the report days (default REPORT_TIMEZONE).",
            "example": "Europe/Berlin",
        },
    )
    start = bounded_date("First local day of the range (YYYY-MM-DD).")
    end = bounded_date("Last local day of the range, included.")
    type = fields.String(validate=[validate.Length(1, 64), NO_NUL])
    src = fields.String(validate=[validate.Length(1, 64), NO_NUL])
    user_id = fields.String(validate=[validate.Length(1, 255), NO_NUL])
    format = fields.String(
        validate=validate.OneOf(["csv", "xlsx"]),
        metadata={
            "description": "csv or xlsx: the same figures as a table, for analysts (a file);"
            " without it, JSON."
        },
    )
    formula_guard = fields.Boolean(
        load_default=True,
        metadata={
            "description": "With format=csv: prefix text cells a spreadsheet would run as a"
            " formula with an apostrophe; false for programs that read the CSV."
        },
    )
    compare = fields.String(
        validate=validate.OneOf(["previous"]),
        metadata={
            "description": "previous: add the same figures for the range of equal length just"
            " before this one, under `previous`."
        },
    )

    # How many days a range covers when only its end (or nothing) is given, and at most.
    default_days = 7
    max_days = MAX_RANGE_DAYS

    def make_range(self, data):
        """The ``ReportRange`` the arguments describe, defaults filled in."""
        filters = Filters(data.get("type"), data.get("src"), data.get("user_id"))
        try:
            return ReportRange.resolve(
                tz=data.get("tz"),
                start=data.get("start"),
                end=data.get("end"),
                filters=filters,
                default_zone=current_app.config["REPORT_TIMEZONE"],
                default_days=self.default_days,
                max_days=self.max_days,
                until_today=self.until_today,
            )
        except RangeError as error:
            raise ValidationError(error.message, error.field) from None

    # Reports cover days up to today: the future has no data.
    until_today = True

    @staticmethod
    def previous(rng, data):
        """The range to compare with (``compare=previous``), or None."""
        if data.get("compare") != "previous":
            return None
        try:
            return rng.previous()
        except RangeError as error:
            raise ValidationError(error.message, error.field) from None

    @staticmethod
    def answer(data):
        """How to answer: ``format`` (None: JSON) and the CSV's ``formula_guard``."""
        return {"format": data.get("format"), "formula_guard": data["formula_guard"]}

    @post_load
    def _to_range(self, data, **kwargs):
        rng = self.make_range(data)
        return {"range": rng, "previous": self.previous(rng, data), **self.answer(data)}


class DauQuerySchema(ReportQuerySchema):
    date = bounded_date(
        "One local day, today at the latest (default: today in REPORT_TIMEZONE, so far)."
    )

    @validates_schema
    def _date_or_range(self, data, **kwargs):
        if "date" in data and ("start" in data or "end" in data):
            raise ValidationError("give either date or start/end, not both", "date")
        if ("start" in data) != ("end" in data):
            raise ValidationError("start and end go together", "start" if "end" in data else "end")

    @post_load
    def _to_range(self, data, **kwargs):
        """``range``: the one day (``date``, default today, as in the seed) or the series'
        days (``series``)."""
        series = "start" in data
        if not series:
            data = {**data, "start": data.get("date"), "end": data.get("date")}
        try:
            rng = self.make_range(data)
        except ValidationError as error:
            if series or error.field_name != "start":
                raise
            raise ValidationError(error.messages, "date") from None
        if not series:
            rng = rng.single(rng.end)
        previous = self.previous(rng, data)
        return {"range": rng, "series": series, "previous": previous, **self.answer(data)}


class RetentionQuerySchema(ReportQuerySchema):
    """Cohorts are new users; filtering them by type or user makes no sense."""

    class Meta:
        exclude = ("type", "user_id")

    default_days = 30


COMPLETE = "false for today (a day still going on), true for finished days."
PREVIOUS = "With compare=previous: the same figures for the range of equal length just before."


class DauPointSchema(Schema):
    date = fields.String(metadata={"format": "date"})
    dau = fields.Integer()
    period = fields.String(metadata={"description": "Length of the local day: 23h, 24h or 25h."})
    complete = fields.Boolean(metadata={"description": COMPLETE})


class DauFiguresSchema(Schema):
    """One day (``date`` given or default) or, with ``start``/``end``, a series."""

    dau = fields.Integer(metadata={"description": "Distinct users that day (single day)."})
    date = fields.String(metadata={"format": "date"})
    period = fields.String(metadata={"description": "Length of the local day: 23h, 24h or 25h."})
    timezone = fields.String(required=True)
    start = fields.String(metadata={"format": "date"})
    end = fields.String(
        metadata={"format": "date", "description": "The last day covered: today at the latest."}
    )
    series = fields.List(fields.Nested(DauPointSchema), metadata={"description": "With a range."})


class DauSchema(DauFiguresSchema):
    previous = fields.Nested(DauFiguresSchema, metadata={"description": PREVIOUS})


class ActivePointSchema(DauPointSchema):
    wau = fields.Integer(metadata={"description": "Distinct users in the 7 days ending that day."})
    mau = fields.Integer(metadata={"description": "Distinct users in the 30 days ending that day."})
    stickiness = fields.Float(metadata={"description": "dau / mau (0 when mau is 0)."})


class RangeSchema(Schema):
    timezone = fields.String(required=True)
    start = fields.String(required=True, metadata={"format": "date"})
    end = fields.String(
        required=True,
        metadata={"format": "date", "description": "The last day covered: today at the latest."},
    )


class ActiveUsersFiguresSchema(RangeSchema):
    series = fields.List(fields.Nested(ActivePointSchema), required=True)


class ActiveUsersSchema(ActiveUsersFiguresSchema):
    previous = fields.Nested(ActiveUsersFiguresSchema, metadata={"description": PREVIOUS})


class PageViewsSchema(Schema):
    page = fields.String()
    views = fields.Integer()


class SessionsSchema(Schema):
    count = fields.Integer(metadata={"description": "Distinct payload.session_id values."})
    average_seconds = fields.Float(metadata={"description": "Mean first-to-last event span."})


class EngagementFiguresSchema(RangeSchema):
    events = fields.Integer()
    users = fields.Integer()
    events_per_user = fields.Float()
    by_type = fields.Dict(keys=fields.String(), values=fields.Integer())
    by_source = fields.Dict(
        keys=fields.String(), values=fields.Integer(), metadata={"description": "'' = no src."}
    )
    sessions = fields.Nested(SessionsSchema)
    top_pages = fields.List(fields.Nested(PageViewsSchema))


class EngagementSchema(EngagementFiguresSchema):
    previous = fields.Nested(EngagementFiguresSchema, metadata={"description": PREVIOUS})


class RetainedSchema(Schema):
    users = fields.Integer(allow_none=True, metadata={"description": "null: not measurable yet."})
    rate = fields.Float(allow_none=True)


class CohortSchema(Schema):
    date = fields.String(metadata={"format": "date"})
    new_users = fields.Integer(metadata={"description": "Users whose first event was that day."})
    day_1 = fields.Nested(RetainedSchema)
    day_7 = fields.Nested(RetainedSchema)
    day_30 = fields.Nested(RetainedSchema)


class RetentionFiguresSchema(RangeSchema):
    cohorts = fields.List(fields.Nested(CohortSchema))


class RetentionSchema(RetentionFiguresSchema):
    previous = fields.Nested(RetentionFiguresSchema, metadata={"description": PREVIOUS})

"""Query and response schemas of the funnel and breakdown reports."""

from flask import current_app
from marshmallow import Schema, ValidationError, fields, post_load, validate

from ..reports.breakdowns import DEFAULT_LIMIT, MAX_LIMIT, Dimension, DimensionError
from ..reports.steps import (
    DEFAULT_WINDOW,
    MAX_STEPS,
    MIN_STEPS,
    Funnel,
    StepError,
    parse_steps,
    parse_window,
)
from .report_schemas import NO_NUL, PREVIOUS, RangeSchema, ReportQuerySchema

STEP_HELP = (
    "A step: an event type, optionally with payload conditions (string equality on top-level"
    " payload keys), e.g. page_view[page=/pricing] or button_click[button_id=buy][plan=pro]."
    f" Repeat it for each step, {MIN_STEPS} to {MAX_STEPS} in order."
)
WINDOW_HELP = (
    "Conversion window: the last step at most this long after the first (30m, 24h, 14d;"
    f" default {DEFAULT_WINDOW})."
)


class FunnelQuerySchema(ReportQuerySchema):
    """The funnel's steps and window, a range (the first step's days) and a source."""

    class Meta:
        exclude = ("type", "user_id")

    step = fields.List(
        fields.String(validate=[validate.Length(1, 512), NO_NUL]),
        required=True,
        metadata={"description": STEP_HELP, "example": ["page_view", "page_view[page=/pricing]"]},
    )
    window = fields.String(
        load_default=DEFAULT_WINDOW,
        validate=validate.Length(1, 16),
        metadata={"description": WINDOW_HELP},
    )

    @post_load
    def _to_range(self, data, **kwargs):
        texts = data["step"]
        if not MIN_STEPS <= len(texts) <= MAX_STEPS:
            raise ValidationError(
                f"a funnel has {MIN_STEPS} to {MAX_STEPS} steps, not {len(texts)}", "step"
            )
        steps, problems = parse_steps(texts, current_app.config["ALLOWED_EVENT_TYPES"])
        if problems:
            raise ValidationError(problems, "step")
        try:
            window = parse_window(data["window"])
        except StepError as error:
            raise ValidationError(str(error), "window") from None
        funnel = Funnel(tuple(steps), window, data["window"])
        rng = self.make_range(data)
        return {
            "range": rng,
            "previous": self.previous(rng, data),
            **self.answer(data),
            "funnel": funnel,
        }


class BreakdownQuerySchema(ReportQuerySchema):
    """What to break events down by, how many values to list, a range and the filters."""

    by = fields.String(
        required=True,
        validate=[validate.Length(1, 80), NO_NUL],
        metadata={"description": "type, src, or payload.<key> (a top-level payload key)."},
    )
    limit = fields.Integer(
        load_default=DEFAULT_LIMIT,
        validate=validate.Range(1, MAX_LIMIT),
        metadata={"description": f"Values listed before the other row (max {MAX_LIMIT})."},
    )

    @post_load
    def _to_range(self, data, **kwargs):
        try:
            dimension = Dimension.parse(data["by"])
        except DimensionError as error:
            raise ValidationError(str(error), "by") from None
        rng = self.make_range(data)
        return {
            "range": rng,
            "previous": self.previous(rng, data),
            **self.answer(data),
            "dimension": dimension,
            "limit": data["limit"],
        }


class FunnelStepSchema(Schema):
    step = fields.String(required=True, metadata={"description": "The step as given."})
    users = fields.Integer(required=True, metadata={"description": "Users reaching the step."})
    conversion = fields.Float(
        required=True, metadata={"description": "users / users of step 1 (0 when none)."}
    )
    step_conversion = fields.Float(
        required=True, metadata={"description": "users / users of the previous step."}
    )
    median_seconds_from_previous = fields.Float(
        required=True,
        allow_none=True,
        metadata={
            "description": "Median time from the previous step in each user's first furthest"
            " chain; null for step 1 and when no user reached the step."
        },
    )


class FunnelFiguresSchema(RangeSchema):
    window = fields.String(required=True)
    steps = fields.List(fields.Nested(FunnelStepSchema), required=True)


class FunnelSchema(FunnelFiguresSchema):
    previous = fields.Nested(FunnelFiguresSchema, metadata={"description": PREVIOUS})


class BreakdownRowSchema(Schema):
    value = fields.String(
        required=True,
        allow_none=True,
        metadata={
            "description": "The value as text (payload numbers and booleans as JSON text);"
            ' "other" for the values past limit, null for events without one.'
        },
    )
    events = fields.Integer(required=True)
    users = fields.Integer(required=True, metadata={"description": "Distinct users."})


class BreakdownFiguresSchema(RangeSchema):
    by = fields.String(required=True)
    rows = fields.List(
        fields.Nested(BreakdownRowSchema),
        required=True,
        metadata={
            "description": "The top values by events (then value), then the other row and the"
            " null row, each only when it has events."
        },
    )


class BreakdownSchema(BreakdownFiguresSchema):
    previous = fields.Nested(BreakdownFiguresSchema, metadata={"description": PREVIOUS})

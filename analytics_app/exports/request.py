"""What an export covers: a format, a report range (unbounded: every event) and the columns'
layout; its file name."""

from dataclasses import dataclass

from ..reports.events import PAYLOAD_COLUMN, Layout
from ..reports.range import ReportRange

MEDIA_TYPES = {
    "csv": "text/csv",  # Flask adds "; charset=utf-8"
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass(frozen=True)
class ExportRequest:
    format: str
    range: ReportRange
    payload_keys: tuple[str, ...] = ()
    formula_guard: bool = True

    @property
    def filters(self):
        return self.range.filters

    @property
    def layout(self):
        """The columns: times in the range's zone, the payload keys, the CSV guard."""
        return Layout(self.range.zone, self.payload_keys, self.formula_guard)

    def span(self):
        """The UTC instants the range covers, or ``(None, None)`` for every event."""
        return self.range.span()

    def filename(self):
        """``events_2026-11-01_2026-11-29.csv``, or ``events_all.xlsx`` without a range."""
        rng = self.range
        stem = f"events_{rng.start}_{rng.end}" if rng.bounded else "events_all"
        return f"{stem}.{self.format}"

    def as_params(self):
        """The request as an export job stores it (see ``from_params``); defaults left out."""
        params = self.range.as_params()
        if self.payload_keys:
            params["columns"] = ",".join(PAYLOAD_COLUMN + key for key in self.payload_keys)
        if not self.formula_guard:
            params["formula_guard"] = "false"
        return params

    @classmethod
    def from_params(cls, format, params):
        columns = params.get("columns")
        keys = [name.removeprefix(PAYLOAD_COLUMN) for name in columns.split(",")] if columns else []
        guard = params.get("formula_guard") != "false"
        return cls(format, ReportRange.from_params(params), tuple(keys), guard)

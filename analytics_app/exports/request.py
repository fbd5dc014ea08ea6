"""What an export covers: a format and a report range (unbounded: every event); its file name."""

from dataclasses import dataclass

from ..reports.range import ReportRange

MEDIA_TYPES = {
    "csv": "text/csv",  # Flask adds "; charset=utf-8"
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass(frozen=True)
class ExportRequest:
    format: str
    range: ReportRange

    @property
    def filters(self):
        return self.range.filters

    def span(self):
        """The UTC instants the range covers, or ``(None, None)`` for every event."""
        return self.range.span()

    def filename(self):
        """``events_2026-11-01_2026-11-29.csv``, or ``events_all.xlsx`` without a range."""
        rng = self.range
        stem = f"events_{rng.start}_{rng.end}" if rng.bounded else "events_all"
        return f"{stem}.{self.format}"

    def as_params(self):
        """The request's range as an export job stores it (see ``from_params``)."""
        return self.range.as_params()

    @classmethod
    def from_params(cls, format, params):
        return cls(format=format, range=ReportRange.from_params(params))

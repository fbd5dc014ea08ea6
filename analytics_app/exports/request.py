"""What an export covers: format, local-day range in a zone, filters; and its file name."""

from dataclasses import dataclass
from datetime import date

from ..reports.periods import day_in, zone
from ..reports.raw import Filters

MEDIA_TYPES = {
    "csv": "text/csv",  # Flask adds "; charset=utf-8"
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass(frozen=True)
class ExportRequest:
    format: str
    tz: str
    start: date | None
    end: date | None
    filters: Filters

    def span(self):
        """The UTC instants the range covers, or ``(None, None)`` for every event."""
        if self.start is None:
            return None, None
        tzinfo = zone(self.tz)
        return day_in(self.start, tzinfo).start, day_in(self.end, tzinfo).end

    def filename(self):
        """``events_2026-11-01_2026-11-29.csv``, or ``events_all.xlsx`` without a range."""
        stem = f"events_{self.start}_{self.end}" if self.start else "events_all"
        return f"{stem}.{self.format}"

    def as_params(self):
        return {
            "tz": self.tz,
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "type": self.filters.type,
            "src": self.filters.src,
            "user_id": self.filters.user_id,
        }

    @classmethod
    def from_params(cls, format, params):
        def day(value):
            return date.fromisoformat(value) if value else None

        return cls(
            format=format,
            tz=params["tz"],
            start=day(params.get("start")),
            end=day(params.get("end")),
            filters=Filters(params.get("type"), params.get("src"), params.get("user_id")),
        )

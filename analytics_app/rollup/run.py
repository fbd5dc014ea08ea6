"""One rollup run: move the boundary, recompute what changed, extend today's live count."""

from datetime import UTC, datetime

from ..extensions import db
from ..reports.periods import local_midnight, today_in, zone
from ..reports.stored import read_marks
from . import activity, breakdowns, funnels, live, protocol
from .days import compute_days, days_to_roll, store_days

CHUNK_DAYS = 31


def latest_midnight(zones):
    """The earliest instant that is already "today" in every zone (ZoneInfo).

    Events at or after it touch no finished day of any zone (nor a trailing figure ending on
    one).
    """
    return max(local_midnight(today_in(tzinfo), tzinfo) for tzinfo in zones)


def roll_up(zone_names, start=None, end=None, progress=None):
    """Bring the rollups of the zones and today's live counts up to date; return how many days
    were computed.

    Marks read at the start are consumed only once every zone has been stored, so a crash
    leaves them in place and the retry recomputes the same days.
    """
    zones = [zone(name) for name in zone_names]
    live_until = datetime.now(UTC) - live.LIVE_LAG
    protocol.advance_boundary(max(live_until, latest_midnight(zones)))
    marks = read_marks()
    plan = [(tzinfo, days_to_roll(tzinfo, marks, start, end)) for tzinfo in zones]
    total = sum(len(dates) for _, dates in plan)
    done = 0
    for tzinfo, dates in plan:
        for offset in range(0, len(dates), CHUNK_DAYS):
            chunk = dates[offset : offset + CHUNK_DAYS]
            activity.store(chunk, tzinfo)
            store_days(compute_days(chunk, tzinfo), tzinfo)
            breakdowns.store(chunk, tzinfo)
            funnels.store(chunk, tzinfo)
            db.session.commit()
            done += len(chunk)
            if progress:
                progress(done, total)
    for tzinfo in zones:
        breakdowns.backfill(tzinfo)
        funnels.backfill(tzinfo)
    live.refresh(zones, marks, live_until)
    protocol.consume_marks([mark_id for mark_id, _, _ in marks])
    if marks or total:
        protocol.bump_cold()
    db.session.commit()
    if total:
        activity.vacuum()
    return total

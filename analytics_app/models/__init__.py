"""Database models, one aggregate per module."""

from .activity import PageDay, SessionDay, UserDay, UserSeen
from .audit import IngestAudit
from .breakdowns import BreakdownBits, BreakdownCover, UserNumber
from .daily_metrics import DailyMetric
from .erasure import ErasedUser, ErasureJob
from .events import Event, EventId
from .exports import ExportJob
from .funnels import FunnelCover, FunnelDay, FunnelKind
from .rollups import LiveDay, LiveDayUser, ReportGeneration, RollupBoundary, RollupMark
from .tokens import ApiToken
from .users import DashboardSession, DashboardUser

__all__ = [
    "ApiToken",
    "BreakdownBits",
    "BreakdownCover",
    "DailyMetric",
    "DashboardSession",
    "DashboardUser",
    "ErasedUser",
    "ErasureJob",
    "Event",
    "EventId",
    "ExportJob",
    "FunnelCover",
    "FunnelDay",
    "FunnelKind",
    "IngestAudit",
    "LiveDay",
    "LiveDayUser",
    "PageDay",
    "ReportGeneration",
    "RollupBoundary",
    "RollupMark",
    "SessionDay",
    "UserDay",
    "UserNumber",
    "UserSeen",
]

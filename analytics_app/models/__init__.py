"""Database models, one aggregate per module."""

from .audit import IngestAudit
from .erasure import ErasedUser, ErasureJob
from .events import Event
from .exports import ExportJob
from .metrics import Metric
from .rollups import LiveDay, LiveDayUser, RollupBoundary, RollupMark
from .tokens import ApiToken
from .users import DashboardSession, DashboardUser

__all__ = [
    "ApiToken",
    "DashboardSession",
    "DashboardUser",
    "ErasedUser",
    "ErasureJob",
    "Event",
    "ExportJob",
    "IngestAudit",
    "LiveDay",
    "LiveDayUser",
    "Metric",
    "RollupBoundary",
    "RollupMark",
]

"""Database models, one aggregate per module."""

from .audit import IngestAudit
from .erasure import ErasedUser, ErasureJob
from .events import Event
from .exports import ExportJob
from .metrics import Metric
from .rollups import RollupMark

__all__ = [
    "ErasedUser",
    "ErasureJob",
    "Event",
    "ExportJob",
    "IngestAudit",
    "Metric",
    "RollupMark",
]

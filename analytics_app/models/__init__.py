"""Database models, one aggregate per module."""

from .audit import IngestAudit
from .events import Event
from .metrics import Metric

__all__ = ["Event", "IngestAudit", "Metric"]

"""User erasure: the audited jobs, and the ids whose events are kept out from then on."""

from datetime import datetime

from sqlalchemy import Identity, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..job_lifecycle import JobStatus
from .types import BigId, Timestamp


class ErasedUser(db.Model):
    """A user id (as stored: hashed when anonymising) whose events are no longer accepted."""

    __tablename__ = "erased_users"

    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    erased_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())


class ErasureJob(db.Model):
    """One erasure request: who asked, when, and how far the background job has got."""

    __tablename__ = "erasure_jobs"

    id: Mapped[int] = mapped_column(BigId, Identity(), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(255))
    requested_by: Mapped[str] = mapped_column(String(255))
    request_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.PENDING)
    events_deleted: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(255))
    requested_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(Timestamp)

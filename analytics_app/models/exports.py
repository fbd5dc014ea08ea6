"""Export jobs: a large export written by the worker, with progress a page can poll."""

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Identity, Index, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..job_lifecycle import JobStatus
from ..public_ids import new_public_id
from .types import BigId, Json, Timestamp


class ExportJob(db.Model):
    """One requested export; its id names the file the worker writes, its public id the job
    in every URL and answer.

    The owner is a dashboard user (``owner_user_id``) or a token subject (``owner_sub``); a
    job with neither lost its owner's account and is seen by admins alone.
    """

    __tablename__ = "export_jobs"

    id: Mapped[int] = mapped_column(BigId, Identity(), primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    owner_user_id: Mapped[int | None] = mapped_column(BigId)
    owner_sub: Mapped[str | None] = mapped_column(String(255))
    # Who asked, for people to read: the token subject, or ``dashboard:<email>``.
    requested_by: Mapped[str] = mapped_column(String(255))
    format: Mapped[str] = mapped_column(String(8))
    # The request's filters as given (tz, start, end, type, src, user_id).
    params: Mapped[dict[str, Any]] = mapped_column(Json)
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.PENDING)
    rows_written: Mapped[int] = mapped_column(Integer, default=0)
    rows_total: Mapped[int | None] = mapped_column(Integer)
    filename: Mapped[str | None] = mapped_column(String(255))
    error: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(Timestamp)
    expires_at: Mapped[datetime | None] = mapped_column(Timestamp)

    __table_args__ = (
        CheckConstraint("owner_user_id IS NULL OR owner_sub IS NULL", name="one_owner"),
        Index("ix_export_jobs_owner_user_id", "owner_user_id"),
        Index("ix_export_jobs_owner_sub", "owner_sub"),
    )

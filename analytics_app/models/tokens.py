"""A record of every API token minted by the CLI or the dashboard (never the token itself)."""

from datetime import datetime

from sqlalchemy import Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import Timestamp


class ApiToken(db.Model):
    """Who a token was minted for, with which scopes, by whom, until when, and whether (when,
    by whom) it was revoked.

    Requests never read this table: every process keeps the revoked jtis in memory
    (``accounts/revocations.py``), refreshed from Redis or from here every few seconds.
    """

    __tablename__ = "api_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    sub: Mapped[str] = mapped_column(String(255))
    # Space-separated, as in the token's ``scope`` claim; empty for an ingest-only token.
    scopes: Mapped[str] = mapped_column(String(255))
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    expires_at: Mapped[datetime] = mapped_column(Timestamp)
    revoked_at: Mapped[datetime | None] = mapped_column(Timestamp)
    # Who revoked it: a dashboard user's email, or "cli".
    revoked_by: Mapped[str | None] = mapped_column(String(255))

    __table_args__ = (
        Index("ix_api_tokens_created_at", "created_at"),
        # The revoked and unexpired tokens, read every few seconds by each process without Redis.
        Index(
            "ix_api_tokens_revoked_expires_at",
            "expires_at",
            postgresql_where=text("revoked_at IS NOT NULL"),
            sqlite_where=text("revoked_at IS NOT NULL"),
        ),
    )

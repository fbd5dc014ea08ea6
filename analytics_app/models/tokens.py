"""A record of every API token minted by the CLI or the dashboard (never the token itself)."""

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import Timestamp


class ApiToken(db.Model):
    """Who a token was minted for, with which scopes, by whom, and until when.

    Informational: ingest does not look tokens up here (no revocation on the hot path).
    """

    __tablename__ = "api_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    sub: Mapped[str] = mapped_column(String(255))
    # Space-separated, as in the token's ``scope`` claim; empty for an ingest-only token.
    scopes: Mapped[str] = mapped_column(String(255))
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    expires_at: Mapped[datetime] = mapped_column(Timestamp)

    __table_args__ = (Index("ix_api_tokens_created_at", "created_at"),)

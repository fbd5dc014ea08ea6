"""Dashboard users and their server-side sign-in sessions."""

from datetime import datetime

from sqlalchemy import ForeignKey, Identity, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import BigId, Timestamp


class DashboardUser(db.Model):
    """A person who signs in to the dashboard; admins also manage users and tokens."""

    __tablename__ = "dashboard_users"

    id: Mapped[int] = mapped_column(BigId, Identity(), primary_key=True)
    # Stored lower-cased, so the unique constraint is case-insensitive in effect.
    email: Mapped[str] = mapped_column(String(255), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(default=False)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())
    last_sign_in_at: Mapped[datetime | None] = mapped_column(Timestamp)

    # Ids are never reused (PostgreSQL's identity never does; SQLite would reuse the highest
    # after a delete): what a user owns, by id, never passes to a later account.
    __table_args__ = ({"sqlite_autoincrement": True},)


class DashboardSession(db.Model):
    """One signed-in browser: the cookie holds a random secret, this row its SHA-256.

    Deleting the row ends the session everywhere, so a copied cookie stops working at
    sign-out; a leaked table holds no usable session secrets.
    """

    __tablename__ = "dashboard_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("dashboard_users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    last_seen_at: Mapped[datetime] = mapped_column(Timestamp)
    expires_at: Mapped[datetime] = mapped_column(Timestamp)

    user: Mapped[DashboardUser] = relationship(lazy="joined")

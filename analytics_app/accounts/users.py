"""Dashboard users: create, authenticate, change a password, deactivate, delete. Each function
commits its work."""

import functools
import re

import sqlalchemy as sa
from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

from ..errors import AppError
from ..extensions import db
from ..models import DashboardUser
from . import passwords, sessions

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")


class InvalidUserError(AppError):
    status = 422
    message = "invalid user"


class DuplicateUserError(AppError):
    status = 409
    message = "a user with this email address already exists"


class SelfLockoutError(AppError):
    status = 409
    message = "you cannot deactivate or delete your own account"


class WrongPasswordError(AppError):
    status = 401
    message = "the current password is not right"


def normalize_email(email):
    return email.strip().lower()


def _personal_words(email):
    """What a guesser knows of the user: their address and its parts."""
    local, _, domain = email.partition("@")
    return [email, local, *domain.split("."), "analytics", "dashboard"]


def _hash(password):
    """Werkzeug's salted hash (scrypt unless ``DASHBOARD_PASSWORD_HASH`` names another)."""
    return generate_password_hash(password, current_app.config["DASHBOARD_PASSWORD_HASH"])


def create(email, password, is_admin=False):
    """Create an active user with a hashed password."""
    email = normalize_email(email)
    if not _EMAIL.fullmatch(email) or len(email) > 255:
        raise InvalidUserError(f"{email!r} is not an email address")
    passwords.check(password, _personal_words(email))
    if db.session.scalar(sa.select(DashboardUser.id).where(DashboardUser.email == email)):
        raise DuplicateUserError()
    user = DashboardUser(
        email=email,
        password_hash=_hash(password),
        is_admin=is_admin,
        is_active=True,
    )
    db.session.add(user)
    db.session.commit()
    return user


@functools.cache
def _decoy_hash(method):
    return generate_password_hash("not the password of anyone", method)


def authenticate(email, password):
    """The active user with this email and password, or None.

    A password hash is checked even for unknown addresses, so the answer takes as long
    either way and does not tell which addresses have accounts.
    """
    user = db.session.scalar(
        sa.select(DashboardUser).where(DashboardUser.email == normalize_email(email))
    )
    method = current_app.config["DASHBOARD_PASSWORD_HASH"]
    matches = check_password_hash(user.password_hash if user else _decoy_hash(method), password)
    return user if matches and user is not None and user.is_active else None


def change_password(user, current, new, keep_session):
    """Set a new password after checking the current one; end the user's other sessions
    (every one but ``keep_session``'s)."""
    if not check_password_hash(user.password_hash, current):
        raise WrongPasswordError()
    passwords.check(new, _personal_words(user.email))
    user.password_hash = _hash(new)
    sessions.end_all(user.id, keep=keep_session)
    db.session.commit()


def all_users():
    return db.session.scalars(sa.select(DashboardUser).order_by(DashboardUser.email)).all()


def _other_user(user_id, acting_user):
    if user_id == acting_user.id:
        raise SelfLockoutError()
    return db.get_or_404(DashboardUser, user_id, description="no such user")


def set_active(user_id, active, acting_user):
    """Activate or deactivate a user; deactivating ends their sessions at once."""
    user = _other_user(user_id, acting_user)
    user.is_active = active
    if not active:
        sessions.end_all(user.id)
    db.session.commit()
    return user


def delete(user_id, acting_user):
    """Delete a user and their sessions."""
    user = _other_user(user_id, acting_user)
    sessions.end_all(user.id)
    db.session.delete(user)
    db.session.commit()
    return user

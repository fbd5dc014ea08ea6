"""Who may see an export job: whoever started it, and admins; to anyone else it does not exist.

A requester is a token subject (``sub``) or a dashboard user by id, never by email: an account
re-created with the same email is another person. Admins (a token with ``analytics:admin``, a
dashboard administrator) see every job. A signed download link stands for the requester: it
names one job, by its public id, and holds as long as the job's file does.
"""

from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from ..errors import AppError
from ..extensions import db
from ..models import ExportJob

# The first of the two keys of the advisory lock that orders one requester's job creations
# (PostgreSQL; two-key locks never meet the one-key lock of the rollup boundary).
CREATE_LOCK = 4632


class ExportJobNotFoundError(AppError):
    status = 404
    message = "no such export job"


@dataclass(frozen=True)
class Requester:
    """Who asks for export jobs, as the API or the dashboard knows them."""

    label: str
    user_id: int | None = None
    sub: str | None = None
    is_admin: bool = False

    @classmethod
    def token(cls, sub, is_admin):
        return cls(label=sub, sub=sub, is_admin=is_admin)

    @classmethod
    def dashboard_user(cls, user):
        label = f"dashboard:{user.email}"[:255]
        return cls(label=label, user_id=user.id, is_admin=user.is_admin)

    def owns_clause(self):
        """SQL: the job is this requester's own."""
        if self.user_id is not None:
            return ExportJob.owner_user_id == self.user_id
        return ExportJob.owner_sub == self.sub

    def may_see(self, job):
        if self.is_admin:
            return True
        if self.user_id is not None:
            return job.owner_user_id == self.user_id
        return job.owner_sub == self.sub

    def lock(self):
        """Wait for this requester's other job creations to commit (PostgreSQL; a no-op on
        SQLite, whose single writer orders them already)."""
        if db.session.get_bind().dialect.name != "postgresql":
            return
        owner = f"user:{self.user_id}" if self.user_id is not None else f"sub:{self.sub}"
        db.session.execute(
            sa.select(sa.func.pg_advisory_xact_lock(CREATE_LOCK, sa.func.hashtext(owner)))
        )


def find(public_id, requester):
    """The job of this public id if ``requester`` may see it; otherwise a 404, as if there
    were none, so a stranger learns nothing of it."""
    job = db.session.scalar(sa.select(ExportJob).where(ExportJob.public_id == public_id))
    if job is None or not requester.may_see(job):
        raise ExportJobNotFoundError()
    return job


def _signer():
    return URLSafeSerializer(current_app.config["JWT_SECRET_KEY"], salt="export-download")


def signature(job):
    """What a download link carries in place of a token: it names this job alone."""
    return _signer().dumps(job.public_id)


def find_signed(public_id, token):
    """The job a download link's signature names, or None if it names another or is forged."""
    try:
        signed = _signer().loads(token)
    except BadSignature:
        return None
    if signed != public_id:
        return None
    job = db.session.scalar(sa.select(ExportJob).where(ExportJob.public_id == public_id))
    if job is None:
        raise ExportJobNotFoundError()
    return job

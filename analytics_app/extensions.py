"""Extension singletons, bound to an app by ``create_app``; nothing here connects at import."""

from flask import g, has_app_context
from flask_cors import CORS
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names, so migrations can alter them on PostgreSQL and SQLite alike.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class ReportRoutingSession(Session):
    """The session, sending reads to the report replica while ``reports.source`` says so.

    ``reports.source.on_replica()`` sets ``g.report_engine`` (the replica, once it has replayed
    what the primary had committed); every statement of the session then runs there, but for
    ORM flushes, which write. Outside that block everything uses the primary.
    """

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        replica = g.get("report_engine") if has_app_context() else None
        if replica is not None and bind is None and not self._flushing:
            return replica
        return super().get_bind(mapper, clause=clause, bind=bind, **kwargs)


db = SQLAlchemy(model_class=Base, session_options={"class_": ReportRoutingSession})
migrate = Migrate()
api = Api()
cors = CORS()

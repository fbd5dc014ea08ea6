"""The seed's naive ingest pipeline in Flask: the baseline the bench compares our app with.

What the seed's FastAPI handler did (shared/SEED.md, "Event Processing Pipeline"): parse the
JSON body, validate every event with a schema (pydantic there, marshmallow here), make one ORM
object per event, ``add_all``, commit, answer ``{"ingested": N}``, behind a JWT check. It maps
the events table itself, so edits to the app's models cannot change the baseline.

Run by bench/ingest.py as ``gunicorn bench.naive_app:app`` with DATABASE_URL and JWT_SECRET_KEY.
"""

import os
from datetime import datetime
from typing import Any

from flask import Flask, jsonify, request
from flask_jwt_extended import JWTManager, jwt_required
from flask_sqlalchemy import SQLAlchemy
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import BigInteger, DateTime, Identity, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

MAX_BATCH_SIZE = 1000
EVENT_TYPES = (
    "page_view",
    "button_click",
    "form_submit",
    "video_play",
    "course_complete",
    "search_query",
    "error_occurred",
)


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class Event(db.Model):
    __tablename__ = "events"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    client_id: Mapped[str | None] = mapped_column(String(128))
    ts: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    user_id: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(64))
    src: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


class EventIn(Schema):
    """The seed's ``EventIn``, plus the client's event id our clients send."""

    client_id = fields.String(data_key="id", load_default=None)
    ts = fields.AwareDateTime(required=True)
    user_id = fields.String(required=True, validate=validate.Length(min=1, max=255))
    type = fields.String(required=True, validate=validate.OneOf(EVENT_TYPES))
    src = fields.String(load_default=None, allow_none=True)
    payload = fields.Dict(load_default=dict)


events_schema = EventIn(many=True)


def create_app():
    app = Flask(__name__)
    url = os.environ["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1)
    app.config.update(SQLALCHEMY_DATABASE_URI=url, JWT_SECRET_KEY=os.environ["JWT_SECRET_KEY"])
    db.init_app(app)
    JWTManager(app)

    @app.post("/api/analytics/ingest")
    @jwt_required()
    def ingest_events():
        try:
            events = events_schema.load(request.get_json())
        except ValidationError as error:
            return jsonify(errors=error.messages), 422
        if len(events) > MAX_BATCH_SIZE:
            return jsonify(detail="batch too large"), 413
        db.session.add_all([Event(**event) for event in events])
        db.session.commit()
        return {"ingested": len(events)}

    return app


app = create_app()

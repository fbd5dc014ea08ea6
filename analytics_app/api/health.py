"""GET /healthz: is the service able to take events?"""

from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import text

from .. import __version__
from ..extensions import db
from ..redis_store import get_redis
from .schemas import HealthSchema

blp = Blueprint("health", __name__, url_prefix="/api/analytics", description="Service health.")


def _database_state():
    try:
        db.session.execute(text("SELECT 1"))
        return "ok"
    except Exception:
        db.session.rollback()
        return "unavailable"
    finally:
        db.session.close()


def _redis_state():
    client = get_redis()
    if client is None:
        return "not configured"
    try:
        client.ping()
        return "ok"
    except Exception:
        return "unavailable"


@blp.route("/healthz")
class Health(MethodView):
    @blp.response(200, HealthSchema)
    @blp.alt_response(503, schema=HealthSchema, description="The database is unreachable.")
    def get(self):
        """Report the state of the database and Redis; 503 when the database is unreachable."""
        database = _database_state()
        body = {
            "status": "ok" if database == "ok" else "unavailable",
            "database": database,
            "redis": _redis_state(),
            "version": __version__,
        }
        return body, 200 if database == "ok" else 503

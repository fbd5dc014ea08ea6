"""URL converters shared by the API and the dashboard: a path parameter the database cannot
hold never reaches it, so an absurd value is a 404, not a database error."""

from werkzeug.routing import BaseConverter, IntegerConverter

from . import public_ids

MAX_ID = 2**63 - 1


class IdConverter(IntegerConverter):
    """A database id (``<id:name>``): 1 to 2**63 - 1, the range of a 64-bit column.

    The pattern alone keeps out zero, leading zeros and numbers of 20 digits or more, so such
    a path matches no route here and goes on to the next (the dashboard's HTML 404 page);
    Werkzeug answers the few 19-digit numbers past the maximum with a plain 404.
    """

    regex = r"[1-9]\d{0,18}"

    def __init__(self, url_map):
        super().__init__(url_map, min=1, max=MAX_ID)


class PublicIdConverter(BaseConverter):
    """A public id (``<public_id:name>``, see ``public_ids``); anything else is a 404."""

    regex = public_ids.PATTERN


CONVERTERS = {"id": IdConverter, "public_id": PublicIdConverter}

# How the API document describes each converter's parameter.
OPENAPI = {
    IdConverter: {"type": "integer", "minimum": 1, "maximum": MAX_ID},
    PublicIdConverter: {"type": "string", "pattern": f"^{public_ids.PATTERN}$"},
}


def init_app(app):
    """Register the converters, before any blueprint whose routes use them."""
    app.url_map.converters.update(CONVERTERS)

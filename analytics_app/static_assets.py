"""Static files served light: content-hashed URLs cached for a year, gzip for browsers that
take it.

``url_for("static", filename=…)`` adds ``v=<digest of the file's content>``; an answer to that
exact version may be kept a year without asking again (``immutable``), since any change to the
file changes its URL. Without the version (the SDK's bundle, embedded by other sites by its
plain path) the answer must be revalidated (``no-cache``, with an ``ETag``). Text assets are
gzipped once per process and kept, so no request pays for compression; nginx passes them on
as they are.
"""

import gzip
import hashlib
import mimetypes
import os
from functools import lru_cache
from typing import NamedTuple

from flask import Response, abort, current_app, request
from werkzeug.security import safe_join

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
COMPRESSIBLE = {
    "application/javascript",
    "application/json",
    "image/svg+xml",
    "text/css",
    "text/javascript",
    "text/plain",
}
MIN_COMPRESSED_BYTES = 1024


class Asset(NamedTuple):
    body: bytes
    gzipped: bytes | None
    digest: str
    mimetype: str


@lru_cache(maxsize=64)
def _load(path, mtime_ns):
    """Read, hash and (for text) gzip a file; cached per process by path and modification."""
    with open(path, "rb") as file:
        body = file.read()
    mimetype = mimetypes.guess_type(path)[0] or "application/octet-stream"
    gzipped = None
    if mimetype in COMPRESSIBLE and len(body) >= MIN_COMPRESSED_BYTES:
        gzipped = gzip.compress(body, compresslevel=9, mtime=0)
    digest = hashlib.sha256(body).hexdigest()[:16]
    return Asset(body, gzipped, digest, mimetype)


def _asset(filename):
    """The asset at ``filename`` under the static folder, or None."""
    path = safe_join(current_app.static_folder, filename)
    if path is None:
        return None
    try:
        stat = os.stat(path)
    except (OSError, ValueError):
        return None
    if not os.path.isfile(path):
        return None
    return _load(path, stat.st_mtime_ns)


def add_version(endpoint, values):
    """Give every URL of a static file its content's digest (``?v=…``)."""
    if endpoint == "static" and "v" not in values and (asset := _asset(values["filename"])):
        values["v"] = asset.digest


def serve(filename):
    """A static file: a year in caches when its version is named, gzipped when accepted."""
    asset = _asset(filename)
    if asset is None:
        abort(404)
    compressed = asset.gzipped is not None and request.accept_encodings["gzip"] > 0
    response = Response(asset.gzipped if compressed else asset.body, mimetype=asset.mimetype)
    if compressed:
        response.headers["Content-Encoding"] = "gzip"
    if asset.gzipped is not None:
        response.vary.add("Accept-Encoding")
    versioned = request.args.get("v") == asset.digest
    response.headers["Cache-Control"] = IMMUTABLE if versioned else REVALIDATE
    response.set_etag(asset.digest + ("-gzip" if compressed else ""))
    return response.make_conditional(request)


def init_app(app):
    """Serve /static/ through ``serve`` and version its URLs."""
    app.view_functions["static"] = serve
    app.url_defaults(add_version)

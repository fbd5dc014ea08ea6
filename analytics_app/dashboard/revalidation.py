"""HTTP revalidation of the overview's fragments: a browser that holds a fragment gets 304,
without it being rendered, until something it shows has changed.

A fragment is kept by the browser but asked for every time (``Cache-Control: private,
no-cache``), with its ``ETag``: a digest of all it depends on, none of which needs the
fragment to be rendered. That is

- the data: the report cache's watermark (``reports.freshness``) over all event time, read
  first, so a write committed later changes it and an ingest answered before the request
  always gets a 200 with the new figures (read your writes, as the report cache);
- what the view shows: its name, the selection as resolved (the zone cookie may set its
  default zone), today's date in its zone (today is partial, and the last complete day moves);
- who asks: the signed-in session (the exports panel holds the session's CSRF token; another
  user or a new sign-in gets its own);
- the release: the app's modules and templates, and the settings the dashboard reads.
"""

import functools
import hashlib
import json
from pathlib import Path

from flask import Response, current_app, g, request, session

from ..reports import source
from ..reports.freshness import watermark
from .access import COOKIE_KEY

REVALIDATE = "private, no-cache"
SETTINGS = ("DASHBOARD_", "EXPORT_", "REPORT_")
"""Prefixes of the settings a fragment may depend on (addresses and secrets left out)."""


@functools.cache
def _release(root, templates, settings):
    digest = hashlib.sha256(settings.encode())
    for folder, pattern in ((root, "**/*.py"), (templates, "**/*.html")):
        for path in sorted(Path(folder).glob(pattern)):
            digest.update(str(path.relative_to(folder)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def release():
    """A digest of the code and settings that render the fragments (once per process)."""
    app = current_app
    settings = {
        name: value
        for name, value in app.config.items()
        if name.startswith(SETTINGS) and "URL" not in name and "URI" not in name
    }
    templates = Path(app.root_path, app.template_folder or "templates")
    return _release(app.root_path, templates, json.dumps(settings, sort_keys=True, default=str))


def etag(*shown):
    """The fragment's validator: ``shown`` (the view, its resolved selection, its day) with
    the data's watermark, the session and the release."""
    with source.on_replica():  # where the fragment's reports read from
        data = watermark(None, None)
    signed_in = hashlib.sha256(session.get(COOKIE_KEY, "").encode()).hexdigest()
    identity = [release(), signed_in, g.user.id, data, shown]
    return hashlib.sha256(json.dumps(identity, default=str).encode()).hexdigest()[:32]


def not_modified(tag):
    """A 304 when the browser's copy has ``tag``, else None."""
    if request.if_none_match.contains(tag):
        return revalidated(Response(status=304), tag)
    return None


def revalidated(response, tag):
    """``response`` kept by the browser, revalidated on every use with ``tag``."""
    response.set_etag(tag)
    response.headers["Cache-Control"] = REVALIDATE
    return response

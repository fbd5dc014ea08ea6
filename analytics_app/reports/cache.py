"""Short-lived caching of report results in Redis; without Redis, no caching at all.

Reports are cached for ``REPORT_CACHE_SECONDS`` (default 30): a dashboard refreshed by many
people costs one computation per half-minute, and a figure is never more than that old. Every
report is computed here, so here it is sent to the report replica when there is one
(``source.on_replica``).
"""

import hashlib
import json
import logging

from flask import current_app

from ..redis_store import get_redis
from . import source

log = logging.getLogger(__name__)


def cached(name, params, compute):
    """Return ``compute()``'s JSON-able result, from Redis when a fresh copy is there."""
    compute = source.reading(compute)
    client = get_redis()
    ttl = current_app.config["REPORT_CACHE_SECONDS"]
    if client is None or ttl == 0:
        return compute()
    digest = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()
    key = f"analytics:report:{name}:{digest}"
    try:
        hit = client.get(key)
        if hit is not None:
            return json.loads(hit)
    except Exception as error:
        log.warning("report cache unavailable: %s", error)
        return compute()
    result = compute()
    try:
        client.set(key, json.dumps(result, default=str), ex=ttl)
    except Exception as error:
        log.warning("report cache unavailable: %s", error)
    return result

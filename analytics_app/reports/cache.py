"""Report results cached until a write changes them: in Redis, or in this process without it.

A result is stored under its report's parameters and the ``freshness.watermark`` of the event
time it reads, read from the database before it is computed. Every write that can change the
result changes that watermark (``rollup.protocol``, "The generations"), so a report reflects
every batch answered before it was asked, cached or not, while repeated reads of unchanged
figures cost one small query. ``REPORT_CACHE_SECONDS`` only bounds how long an entry is kept
(0 turns the cache off). Without Redis each process keeps its own ``MemoryStore``; the key
makes it exact there too.

Every report is computed here, so here it is sent to the report replica when there is one
(``source.on_replica``): the watermark is read there too, from the same caught-up state as
the figures. The figures are computed under the statement time limit (``timeout.bounded``).

Under ``cached_only()`` nothing is computed: a result the cache does not hold (or a cache that
cannot answer) raises ``NotCached``. The dashboard renders the panels it can that way, at the
cost of a watermark and a cache read each, without ever waiting on a report.
"""

import hashlib
import json
import logging
import threading
import time
from collections import OrderedDict
from contextlib import contextmanager
from contextvars import ContextVar

from flask import current_app
from redis import RedisError

from ..metrics import record_report_cache
from ..redis_store import get_redis
from . import source, timeout
from .freshness import watermark

log = logging.getLogger(__name__)

MEMORY_ENTRIES = 256
"""How many results a process keeps without Redis (the oldest used go first)."""

_cached_only = ContextVar("cached_only", default=False)


class NotCached(Exception):
    """A report asked for under ``cached_only()`` that would have to be computed."""


@contextmanager
def cached_only():
    """Within it, reports come from the cache or raise ``NotCached``; none is computed."""
    token = _cached_only.set(True)
    try:
        yield
    finally:
        _cached_only.reset(token)


class MemoryStore:
    """A small least-recently-used store of JSON text with expiry, for one process."""

    def __init__(self, entries=MEMORY_ENTRIES):
        self.entries = entries
        self._items = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            value, expires = item
            if expires <= time.monotonic():
                del self._items[key]
                return None
            self._items.move_to_end(key)
            return value

    def set(self, key, value, ex):
        with self._lock:
            self._items[key] = (value, time.monotonic() + ex)
            self._items.move_to_end(key)
            while len(self._items) > self.entries:
                self._items.popitem(last=False)


def _store():
    return get_redis() or current_app.extensions["report_cache"]


def cached(name, params, span, compute):
    """Return ``compute()``'s JSON-able result, from the cache when it is still current.

    ``params`` identify the result; ``span`` is the ``(lo, hi)`` of event time it reads (None
    for unbounded).
    """
    with source.on_replica():
        return _cached(name, params, span, timeout.bounded(compute))


def _cached(name, params, span, compute):
    ttl = current_app.config["REPORT_CACHE_SECONDS"]
    only = _cached_only.get()
    if ttl == 0:
        if only:
            raise NotCached(name)
        return compute()
    # The database is part of the key: deployments may share one Redis database.
    database = current_app.config["SQLALCHEMY_DATABASE_URI"]
    identity = json.dumps([database, name, params, watermark(*span)], default=str)
    key = f"analytics:report:{name}:{hashlib.sha256(identity.encode()).hexdigest()}"
    store = _store()
    try:
        hit = store.get(key)
    except RedisError as error:
        log.warning("report cache unavailable: %s", error)
        record_report_cache("error")
        if only:
            raise NotCached(name) from error
        return compute()
    if hit is not None:
        record_report_cache("hit")
        return json.loads(hit)
    if only:
        raise NotCached(name)
    record_report_cache("miss")
    result = compute()
    try:
        store.set(key, json.dumps(result, default=str), ex=ttl)
    except RedisError as error:
        log.warning("report cache unavailable: %s", error)
    return result


def init_app(app):
    """This app's in-process store, used when there is no Redis."""
    app.extensions["report_cache"] = MemoryStore()

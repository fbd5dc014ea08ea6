"""Progressive delays on failed dashboard sign-ins, counted atomically, that no stranger can
turn into a lock on someone else's account.

Why this shape (what a reviewer would check):

- Count, then decide, in one atomic step. An attempt takes its place in every count that
  applies before the password is checked (one Redis transaction, or under a lock in memory),
  so forty parallel guesses get exactly the free tries. A right password gives its place back.
- Delays, not a lock. A count lets its first N failures through ("N per PERIOD" in the
  settings); after that each attempt must wait 1 s, 2 s, 4 s… after the previous one, at most
  PERIOD. During a wait even the right password is refused (or the wait would tell nothing),
  but a refused attempt counts nothing and moves nothing: hammering cannot lengthen a wait.
  A count is forgotten PERIOD after its last wait ends.
- Three counts, because guessers come in three shapes:
  * per account and address (``DASHBOARD_SIGNIN_ACCOUNT_IP_LIMIT``, 5 per 15 minutes): one
    guesser on one account. It slows that address only: the owner elsewhere is not held.
  * per address (``DASHBOARD_SIGNIN_IP_LIMIT``, 30 per 15 minutes): one guesser trying many
    accounts.
  * per account from every address (``DASHBOARD_SIGNIN_ACCOUNT_LIMIT``, 20 per 15 minutes): a
    guesser spread over many addresses. This is the count a stranger could turn against the
    owner, so, as services that trust known devices do, it does not apply to the addresses
    the account signed in from in the last ``KNOWN_DAYS`` days: under such an attack the owner
    still signs in from their usual address, and only a new address waits.
- Redis holds the counts when configured, so every process shares them. While Redis is
  unreachable each process counts on its own (the limits then multiply by the number of
  processes); ``redis_store.Fallback`` says so in the log and in
  ``analytics_redis_fallback_total{component="signin_throttle"}``.
"""

import hashlib
import logging
import math
import threading
import time
from dataclasses import dataclass

from flask import current_app
from limits import parse
from redis import Redis, RedisError, WatchError

from ..errors import AppError
from ..metrics import record_throttled
from ..redis_store import TIMEOUT_SECONDS, Fallback

log = logging.getLogger(__name__)

# The Redis keys of the counts start with this.
KEY_PREFIX = "analytics:signin"
FIRST_WAIT_SECONDS = 1
KNOWN_DAYS = 30
# Concurrent attempts on one count retry their Redis transaction; past this many, refuse.
MAX_TRANSACTION_TRIES = 100


class SignInThrottledError(AppError):
    status = 429
    message = "too many failed sign-ins"

    def __init__(self, retry_after):
        if retry_after < 60:
            wait = f"{retry_after} second{'s' * (retry_after > 1)}"
        else:
            minutes = math.ceil(retry_after / 60)
            wait = f"{minutes} minute{'s' * (minutes > 1)}"
        super().__init__(
            f"Too many failed sign-ins. Try again in {wait}.",
            headers={"Retry-After": str(retry_after)},
        )


@dataclass(frozen=True)
class Backoff:
    """``free`` failures without a wait, then waits doubling from ``first_wait`` to ``period``."""

    free: int
    period: float
    first_wait: float = FIRST_WAIT_SECONDS

    @classmethod
    def parse(cls, text, first_wait=FIRST_WAIT_SECONDS):
        item = parse(text)
        return cls(item.amount, item.get_expiry(), first_wait)

    def wait_after(self, failures):
        """Seconds the next attempt waits after ``failures`` counted failures."""
        if failures < self.free:
            return 0.0
        return min(self.period, self.first_wait * 2 ** min(failures - self.free, 64))


@dataclass(frozen=True)
class Count:
    failures: int
    next_at: float  # Unix time before which no attempt may go ahead

    def dump(self):
        return f"{self.failures} {self.next_at:.3f}"

    @classmethod
    def load(cls, value):
        if value is None:
            return cls(0, 0.0)
        failures, next_at = (value.decode() if isinstance(value, bytes) else value).split()
        return cls(int(failures), float(next_at))


def judge(counts, backoffs, now):
    """Decide an attempt: ``(None, new counts)`` when it may go ahead, or ``((seconds, name),
    {})`` when the count ``name`` makes it wait."""
    waits = {name: count.next_at - now for name, count in counts.items() if count.next_at > now}
    if waits:
        name = max(waits, key=waits.get)
        return (max(1, math.ceil(waits[name])), name), {}
    counted = {}
    for name, count in counts.items():
        failures = count.failures + 1
        counted[name] = Count(failures, now + backoffs[name].wait_after(failures))
    return None, counted


class RedisCounts:
    """Counts in Redis, read and written in one optimistic transaction (WATCH/MULTI)."""

    def __init__(self, redis_url):
        self.client = Redis.from_url(
            redis_url, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS
        )

    def transact(self, keys, change):
        """Apply ``change(values) -> (result, {key: (value or None, ttl)})`` atomically."""
        with self.client.pipeline() as pipe:
            for _ in range(MAX_TRANSACTION_TRIES):
                try:
                    pipe.watch(*keys)
                    result, writes = change(pipe.mget(keys))
                    pipe.multi()
                    for key, (value, ttl) in writes.items():
                        if value is None:
                            pipe.delete(key)
                        else:
                            pipe.set(key, value, px=max(1, int(ttl * 1000)))
                    pipe.execute()
                    return result
                except WatchError:
                    continue
        raise SignInThrottledError(1)  # so many attempts at once that none got through


class MemoryCounts:
    """The same counts in this process's memory."""

    PURGE_ABOVE = 10_000

    def __init__(self):
        self.values = {}  # key: (value, expires at)
        self.lock = threading.Lock()

    def transact(self, keys, change):
        with self.lock:
            now = time.time()
            current = [self.values.get(key, (None, 0.0)) for key in keys]
            result, writes = change([value if until > now else None for value, until in current])
            for key, (value, ttl) in writes.items():
                if value is None:
                    self.values.pop(key, None)
                else:
                    self.values[key] = (value, now + ttl)
            if len(self.values) > self.PURGE_ABOVE:
                self.values = {k: v for k, v in self.values.items() if v[1] > now}
            return result


@dataclass(frozen=True)
class Attempt:
    """The keys of the counts a sign-in attempt took its place in."""

    counts: dict  # name: key
    known_key: str


class SignInThrottle:
    """The three counts of failed sign-ins, each with its own back-off."""

    def __init__(self, account_ip_limit, ip_limit, account_limit, redis_url=None, **backoff):
        self.backoffs = {
            "account_address": Backoff.parse(account_ip_limit, **backoff),
            "address": Backoff.parse(ip_limit, **backoff),
            "account": Backoff.parse(account_limit, **backoff),
        }
        shared = RedisCounts(redis_url) if redis_url else None
        self.store = Fallback(
            shared,
            MemoryCounts(),
            RedisError,
            "signin_throttle",
            "failed sign-ins are counted per process",
        )

    @staticmethod
    def _keys(email, address):
        account = hashlib.sha256(email.strip().lower().encode()).hexdigest()
        address = address or "unknown"
        counts = {
            "account_address": f"{KEY_PREFIX}:pair:{account}:{address}",
            "address": f"{KEY_PREFIX}:ip:{address}",
            "account": f"{KEY_PREFIX}:account:{account}",
        }
        return counts, f"{KEY_PREFIX}:known:{account}:{address}"

    def attempt(self, email, address):
        """Take the attempt's place in its counts; raise ``SignInThrottledError`` if it waits."""
        counts, known_key = self._keys(email, address)
        keys = [known_key, *counts.values()]

        def change(values):
            now = time.time()
            known, *rest = values
            names = [name for name in counts if not (known and name == "account")]
            loaded = {name: Count.load(v) for name, v in zip(counts, rest, strict=True)}
            verdict, counted = judge({name: loaded[name] for name in names}, self.backoffs, now)
            writes = {
                counts[name]: (count.dump(), count.next_at - now + self.backoffs[name].period)
                for name, count in counted.items()
            }
            return (verdict, names), writes

        verdict, names = self.store.run(lambda store: store.transact(keys, change))
        if verdict is not None:
            retry_after, name = verdict
            log.warning("sign-in throttled (%s)", name)
            record_throttled(name)
            raise SignInThrottledError(retry_after)
        return Attempt({name: counts[name] for name in names}, known_key)

    def succeeded(self, attempt):
        """Give a successful attempt's place back, and remember its address as known."""
        keys = [attempt.known_key, *attempt.counts.values()]
        known_for = KNOWN_DAYS * 86400

        def change(values):
            writes = {attempt.known_key: ("1", known_for)}
            for (name, key), value in zip(attempt.counts.items(), values[1:], strict=True):
                count = Count.load(value)
                if name == "account_address" or count.failures <= 1:
                    writes[key] = (None, 0)
                else:
                    ttl = max(count.next_at - time.time(), 0) + self.backoffs[name].period
                    writes[key] = (Count(count.failures - 1, count.next_at).dump(), ttl)
            return None, writes

        self.store.run(lambda store: store.transact(keys, change))


def throttle():
    """The current app's sign-in throttle."""
    return current_app.extensions["signin_throttle"]


def init_app(app):
    """Build this app's throttle from its config."""
    app.extensions["signin_throttle"] = SignInThrottle(
        app.config["DASHBOARD_SIGNIN_ACCOUNT_IP_LIMIT"],
        app.config["DASHBOARD_SIGNIN_IP_LIMIT"],
        app.config["DASHBOARD_SIGNIN_ACCOUNT_LIMIT"],
        app.config["REDIS_URL"],
    )

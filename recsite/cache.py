"""Django's Redis cache, degraded to no cache while Redis is down or hung (configured when REDIS_URL is set).

Every operation that fails on a Redis connection error or timeout answers as a cache that holds nothing (as
Django's DummyCache does): get -> the default, get_many -> {}, has_key/touch/delete -> False, add -> True,
incr -> ValueError (the key is missing), set/set_many/delete_many/clear do nothing. The failure is logged once per
LOG_INTERVAL seconds per process, not once per call. After a failure this process skips Redis for RETRY_SECONDS
(the same answers, without a network call), so a hung Redis costs one socket timeout per process every few
seconds instead of one per cache call; the first call after that tries Redis again, and the cache works again
as soon as Redis answers. Short socket timeouts belong in OPTIONS (recsite/settings/base.py sets them).

OPTIONS also takes RETRY_SECONDS and LOG_INTERVAL (upper case: not passed on to redis-py).
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from urllib.parse import urlsplit, urlunsplit

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)

# redis-py raises these when the server cannot be reached, refuses, closes the connection or does not answer in
# socket_timeout (BusyLoadingError, a server still loading its data, is a ConnectionError too). Anything else
# (a wrong command, a value that does not unpickle) is a bug and still raises.
REDIS_UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, ConnectionError, TimeoutError)
RETRY_SECONDS, LOG_INTERVAL = 2.0, 60.0


class _Outage:
    """Whether one Redis location is down, shared by the per-thread cache objects of this process."""

    _guard = threading.Lock()
    _by_location: dict[str, _Outage] = {}

    def __init__(self, location: str, retry_seconds: float, log_interval: float) -> None:
        self.location, self.retry_seconds, self.log_interval = location, retry_seconds, log_interval
        self._lock = threading.Lock()
        self._skip_until = 0.0
        self._logged_at: float | None = None
        self._down = False
        self.failures = 0  # failed calls in this process (for tests and logs)

    @classmethod
    def of(cls, location: str, retry_seconds: float, log_interval: float) -> _Outage:
        with cls._guard:
            outage = cls._by_location.get(location)
            if outage is None:
                outage = cls._by_location[location] = cls(location, retry_seconds, log_interval)
            return outage

    def skipping(self) -> bool:
        return self._down and time.monotonic() < self._skip_until

    def failed(self, operation: str, exc: BaseException) -> None:
        now = time.monotonic()
        with self._lock:
            self.failures += 1
            self._down, self._skip_until = True, now + self.retry_seconds
            if self._logged_at is not None and now - self._logged_at < self.log_interval:
                return
            self._logged_at = now
        log.warning(
            "cache %s unavailable (%s: %s: %s): serving without the cache, trying again every %.0f s",
            self.location,
            operation,
            type(exc).__name__,
            exc,
            self.retry_seconds,
        )

    def answered(self) -> None:
        if not self._down:
            return
        with self._lock:
            was_down, self._down, self._logged_at = self._down, False, None
        if was_down:
            log.warning("cache %s answers again", self.location)


def _or_no_cache(answer):
    """Run the RedisCache method; while Redis is unavailable, answer(*args, **kwargs) as an empty cache would."""

    def decorate(method):
        @functools.wraps(method)
        def call(self, *args, **kwargs):
            if self._outage.skipping():
                return answer(*args, **kwargs)
            try:
                result = method(self, *args, **kwargs)
            except REDIS_UNAVAILABLE as exc:
                self._outage.failed(method.__name__, exc)
                return answer(*args, **kwargs)
            self._outage.answered()
            return result

        return call

    return decorate


def _without_password(url: str) -> str:
    """The Redis URL as logs may show it: redis://:secret@host:6379/1 -> redis://host:6379/1."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _missing(key, *args, **kwargs):
    raise ValueError(f"Key '{key}' not found.")


class ResilientRedisCache(RedisCache):
    """RedisCache whose every operation degrades to an empty, write-nothing cache while Redis is unavailable."""

    def __init__(self, server, params):
        options = dict(params.get("OPTIONS") or {})
        retry_seconds = float(options.pop("RETRY_SECONDS", RETRY_SECONDS))
        log_interval = float(options.pop("LOG_INTERVAL", LOG_INTERVAL))
        super().__init__(server, {**params, "OPTIONS": options})
        self._outage = _Outage.of(",".join(map(_without_password, self._servers)), retry_seconds, log_interval)

    add = _or_no_cache(lambda *args, **kwargs: True)(RedisCache.add)
    get = _or_no_cache(lambda key, default=None, version=None: default)(RedisCache.get)
    set = _or_no_cache(lambda *args, **kwargs: None)(RedisCache.set)
    touch = _or_no_cache(lambda *args, **kwargs: False)(RedisCache.touch)
    delete = _or_no_cache(lambda *args, **kwargs: False)(RedisCache.delete)
    get_many = _or_no_cache(lambda *args, **kwargs: {})(RedisCache.get_many)
    has_key = _or_no_cache(lambda *args, **kwargs: False)(RedisCache.has_key)
    incr = _or_no_cache(_missing)(RedisCache.incr)
    set_many = _or_no_cache(lambda data, *args, **kwargs: list(data))(RedisCache.set_many)
    delete_many = _or_no_cache(lambda *args, **kwargs: None)(RedisCache.delete_many)
    clear = _or_no_cache(lambda *args, **kwargs: False)(RedisCache.clear)

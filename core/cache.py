"""The site's caches: Django's Redis cache degraded to no cache while Redis is down or hung (ResilientRedisCache,
configured when REDIS_URL is set); a file cache whose add and incr are atomic across processes (SharedFileCache, the
limits' store of the embedded default); and window_hit, the fixed-window counter the limits count with.

ResilientRedisCache:

Every operation that fails on a Redis connection error or timeout answers as a cache that holds nothing (as
Django's DummyCache does): get -> the default, get_many -> {}, has_key/touch/delete -> False, add -> True,
incr -> ValueError (the key is missing), set/set_many/delete_many/clear do nothing. The failure is logged once per
LOG_INTERVAL seconds per process, not once per call. After a failure this process skips Redis for RETRY_SECONDS
(the same answers, without a network call), so a hung Redis costs one socket timeout per process every few
seconds instead of one per cache call; the first call after that tries Redis again, and the cache works again
as soon as Redis answers. Short socket timeouts belong in OPTIONS (recsite/settings/base.py sets them).

OPTIONS also takes RETRY_SECONDS and LOG_INTERVAL (upper case: not passed on to redis-py).

Hand-written, not django-redis with IGNORE_EXCEPTIONS: that swallows the errors but tries Redis on every call, so a
hung Redis costs each cache call its socket timeout (the skip after a failure is what it lacks); and not Django's
FileBasedCache for the limits: its add and incr are read-then-write, not atomic across gunicorn workers.
"""

from __future__ import annotations

import functools
import logging
import os
import pickle
import random
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.filebased import FileBasedCache
from django.core.cache.backends.redis import RedisCache
from django.core.files import locks
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


# INCRBY only where the key exists, in one atomic step: Django's RedisCache.incr is EXISTS then INCR, and a key that
# expired between them came back from INCR as 1 with no expiry (a window that never ended).
_INCR_EXISTING = "if redis.call('exists', KEYS[1]) == 1 then return redis.call('incrby', KEYS[1], ARGV[1]) end"


def _redis_incr(self, key, delta=1, version=None):
    key = self.make_and_validate_key(key, version=version)
    value = self._cache.get_client(key, write=True).eval(_INCR_EXISTING, 1, key, delta)
    if value is None:
        _missing(key)
    return value


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
    incr = _or_no_cache(_missing)(_redis_incr)
    set_many = _or_no_cache(lambda data, *args, **kwargs: list(data))(RedisCache.set_many)
    delete_many = _or_no_cache(lambda *args, **kwargs: None)(RedisCache.delete_many)
    clear = _or_no_cache(lambda *args, **kwargs: False)(RedisCache.clear)


class SharedFileCache(FileBasedCache):
    """A FileBasedCache whose add and incr are atomic across every process sharing its folder (the gunicorn workers
    and the other web processes of one machine): the store of the limits on the embedded default.

    Django's add is has_key then set, and its incr is get then set with the default timeout: two workers counting
    failures of one account could both see it missing or both write n + 1 (4 processes x 150 increments counted
    163), and every increment moved the entry's expiry (a window that never ended). Here writers hold an exclusive
    lock on one file in the folder and readers a shared one (flock: released by the kernel if the process dies);
    incr rewrites the entry in place, keeping its expiry (a rename over it, as set() does, cost ~3 ms on ext4 under
    the lock); an entry left torn by a process killed mid-write reads as missing and is removed; a full cache
    removes expired entries before Django's random cull, which would also drop live counts (filling the cache must
    not end a lock-out).
    """

    LOCK_FILE = "lock"  # not *.djcache: never listed, culled or cleared as an entry
    TORN = (EOFError, pickle.UnpicklingError, zlib.error, ValueError, TypeError)  # a partly written entry

    @contextmanager
    def _locked(self, shared: bool = False) -> Iterator[None]:
        path = os.path.join(self._dir, self.LOCK_FILE)
        try:
            handle = open(path, "ab")  # noqa: SIM115 - closed below
        except FileNotFoundError:  # the folder was removed: as set() does, make it again
            self._createdir()
            handle = open(path, "ab")  # noqa: SIM115
        with handle:
            locks.lock(handle, locks.LOCK_SH if shared else locks.LOCK_EX)
            try:
                yield
            finally:
                locks.unlock(handle)

    def _read(self, read, key, version, missing):
        """read() under the shared lock; an entry left torn is removed and reads as ``missing``."""
        with self._locked(shared=True):
            try:
                return read()
            except self.TORN:
                self._delete(self._key_to_file(key, version))
                return missing

    def get(self, key, default=None, version=None):
        return self._read(lambda: super(SharedFileCache, self).get(key, default, version), key, version, default)

    def has_key(self, key, version=None):
        return self._read(lambda: super(SharedFileCache, self).has_key(key, version), key, version, False)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        with self._locked():
            try:
                present = super().has_key(key, version)
            except self.TORN:
                present = False
            if present:
                return False
            self.set(key, value, timeout, version)
            return True

    def incr(self, key, delta=1, version=None):
        fname = self._key_to_file(key, version)
        with self._locked():
            try:
                with open(fname, "r+b") as handle:
                    expiry = pickle.load(handle)
                    value = pickle.loads(zlib.decompress(handle.read()))
                    now = time.time()
                    if expiry is not None and expiry < now:
                        raise EOFError
                    value += delta
                    handle.seek(0)
                    self._write_content(handle, None if expiry is None else max(expiry - now, 0.001), value)
                    handle.truncate()
                    return value
            except FileNotFoundError:
                pass
            except self.TORN:  # expired, or torn: gone
                self._delete(fname)
            _missing(key)

    def _cull(self):
        entries = self._list_cache_files()  # listed once, under the exclusive lock
        if len(entries) < self._max_entries:
            return
        live = []
        for fname in entries:  # expired (or torn) entries first
            try:
                with open(fname, "rb") as handle:
                    if not self._is_expired(handle):  # removes an expired entry
                        live.append(fname)
            except FileNotFoundError:
                pass
            except self.TORN:
                self._delete(fname)
        if len(live) < self._max_entries:  # then, as Django's _cull, a random share of the live ones
            return
        if self._cull_frequency == 0:
            return self.clear()
        for fname in random.sample(live, int(len(live) / self._cull_frequency)):
            self._delete(fname)


def limits_cache():
    """The store the limits count in (settings.LIMITS_CACHE: recsite/settings/base.py), shared by every web process."""
    return caches[settings.LIMITS_CACHE]


def window_hit(cache, key: str, seconds: int) -> tuple[int, float]:
    """Count one hit on ``key`` in a fixed window of ``seconds`` that starts at its first hit: (the hits in the
    window so far, this one included; the time.time() the window ends). Exact across processes where the cache's
    add and incr are atomic (Redis, SharedFileCache). While the cache is unavailable (ResilientRedisCache: add
    answers True) every hit is the first of a window: nothing is counted, nothing refused."""
    until = time.time() + seconds
    if cache.add(key, 1, timeout=seconds):  # the first hit: a window starts
        cache.set(f"{key}:until", until, timeout=seconds)
        return 1, until
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr: a new window
        cache.set(key, 1, timeout=seconds)
        cache.set(f"{key}:until", until, timeout=seconds)
        return 1, until
    return count, cache.get(f"{key}:until", until)

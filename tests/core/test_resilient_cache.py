"""core.cache.ResilientRedisCache against a real redis-server on loopback: a cache while Redis answers, an empty
write-nothing cache while it is stopped or hung (each call bounded by the socket timeout, logged once), and a cache
again once it answers."""

import logging
import signal
import time

import pytest

from core.cache import ResilientRedisCache
from tests.faults import stack

OPTIONS = {"socket_connect_timeout": 0.3, "socket_timeout": 0.3, "RETRY_SECONDS": 1.0, "LOG_INTERVAL": 60}


@pytest.fixture
def redis(tmp_path):
    with stack.redis_running(tmp_path / "redis.log") as server:
        yield server


def cache_on(redis) -> ResilientRedisCache:
    return ResilientRedisCache(redis.url, {"OPTIONS": dict(OPTIONS), "KEY_PREFIX": f"t{time.monotonic_ns()}"})


def every_answer(cache) -> dict:
    answers = {
        "get": cache.get("a", "default"),
        "get_many": cache.get_many(["a", "b"]),
        "has_key": cache.has_key("a"),
        "add": cache.add("c", 3),
        "set": cache.set("a", 2),
        "set_many": cache.set_many({"a": 1, "b": 2}),
        "touch": cache.touch("a"),
        "delete": cache.delete("a"),
        "delete_many": cache.delete_many(["a", "b"]),
        "get_or_set": cache.get_or_set("d", lambda: "computed"),
        "clear": cache.clear(),
    }
    with pytest.raises(ValueError):
        cache.incr("a")
    return answers


NO_CACHE = {"get": "default", "get_many": {}, "has_key": False, "add": True, "set": None, "set_many": ["a", "b"],
            "touch": False, "delete": False, "delete_many": None, "get_or_set": "computed", "clear": False}  # fmt: skip


def test_a_stopped_redis_is_an_empty_cache_logged_once_and_a_cache_again_when_back(redis, caplog):
    cache = cache_on(redis)
    cache.set("a", 1)
    cache.set_many({"b": 2})
    assert (cache.get("a"), cache.get_many(["a", "b"]), cache.incr("a")) == (1, {"a": 1, "b": 2}, 2)

    redis.signal(signal.SIGTERM)
    redis.proc.wait(timeout=30)
    with caplog.at_level(logging.WARNING, logger="core.cache"):
        started = time.monotonic()
        for _ in range(3):
            assert every_answer(cache) == NO_CACHE
        assert time.monotonic() - started < 1.0  # refused at once, then skipped
    warnings = [r.getMessage() for r in caplog.records if "unavailable" in r.getMessage()]
    assert len(warnings) == 1 and f"127.0.0.1:{redis.port}" in warnings[0], warnings

    redis.start()  # a fresh, empty redis-server on the same port
    time.sleep(OPTIONS["RETRY_SECONDS"])  # the scenario: the retry interval passes, then the cache is tried again
    cache.set("a", 5)
    assert cache.get("a") == 5 and redis.keys() == 1


def test_a_hung_redis_costs_one_socket_timeout_per_retry_interval(redis):
    cache = cache_on(redis)
    cache.set("a", 1)
    redis.signal(signal.SIGSTOP)
    try:
        started = time.monotonic()
        assert cache.get("a", "default") == "default"
        first = time.monotonic() - started
        started = time.monotonic()
        assert [cache.get("a", "default") for _ in range(20)] == ["default"] * 20
        rest = time.monotonic() - started
    finally:
        redis.signal(signal.SIGCONT)
    assert OPTIONS["socket_timeout"] * 0.8 < first < OPTIONS["socket_timeout"] + 1.5, first  # slack: a busy CI box
    assert rest < 0.1, rest  # skipped for RETRY_SECONDS after the failure
    time.sleep(OPTIONS["RETRY_SECONDS"])  # the scenario: the retry interval passes
    assert cache.get("a") == 1


def test_a_password_in_the_url_is_not_logged():
    cache = ResilientRedisCache("redis://:s3cret@127.0.0.1:9/0", {"OPTIONS": dict(OPTIONS)})
    assert cache._outage.location == "redis://127.0.0.1:9/0"
    assert cache.get("a", "default") == "default"

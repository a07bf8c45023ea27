"""A live stack on loopback for the fault scenarios: a Milvus Lite server, redis-server and gunicorn, as processes
(tests/faults/processes.py, re-exported here), and the scenarios run against them.

Used by tests/faults/test_dead_services.py (which asserts on what the scenarios measure) and by
benchmarks/bench_faults.py (which prints it). Every process is started in its own session and killed by its owner
(tests.support.running, or the benchmark's finally); every wait is bounded.

The scenarios (milvus_hang, milvus_kill, redis_stop, redis_hang, broker_hang) send requests one after another while
a service is hung or dead and return a Measured: the answers, how long each took, and how long the site took to
recover after the service came back, without restarting the web server.
"""

from __future__ import annotations

import signal
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from .processes import (  # noqa: F401 - the stack's processes and HTTP, for the tests and benchmarks/bench_faults.py
    BREAKER_FAILURES,
    BREAKER_SECONDS,
    MILVUS_TIMEOUT,
    ROOT,
    Answer,
    MilvusLite,
    Redis,
    Web,
    get,
    login,
    redis_running,
    redis_server_path,
    request,
    web_environment,
)

PERSONAL_MARK = "Popular picks for now."  # the home page's banner when it serves the popularity fallback


def personal(answer: Answer) -> bool:
    """Whether an answer carries personal suggestions (API: fallback false; home page: no fallback banner)."""
    if answer.status != 200:
        return False
    if answer.path.startswith("/api/"):
        return answer.json.get("fallback") is False
    return PERSONAL_MARK not in answer.body


# --- scenarios ------------------------------------------------------------------------------------------------


@dataclass
class Measured:
    scenario: str
    during: list[Answer] = field(default_factory=list)  # answers while the service was hung or dead
    recovered_after: float | None = None  # seconds from the service's return to the first good answer
    after: list[Answer] = field(default_factory=list)  # answers once recovered
    writes: list[Answer] = field(default_factory=list)  # rating PUTs made at the end of the fault
    notes: dict = field(default_factory=dict)

    @property
    def server_errors(self) -> list[Answer]:
        """5xx answers and no answers; a 503 the scenario expects (nothing sensible to serve: "503 expected") not."""
        allowed = {503} if self.notes.get("503 expected") else set()
        answers = self.during + self.after + self.writes
        return [a for a in answers if (a.status >= 500 and a.status not in allowed) or a.status == 0]

    @property
    def first(self) -> list[Answer]:
        """The requests sent before the first answer of the fault came back (one when requests go one by one):
        those may wait out a deadline; every later one should not."""
        if not self.during:
            return []
        first_back = min(a.at + a.seconds for a in self.during)
        return [a for a in self.during if a.at < first_back]

    @property
    def later(self) -> list[Answer]:
        first = {id(a) for a in self.first}
        return [a for a in self.during if id(a) not in first]

    def row(self) -> dict:
        seconds = [a.seconds for a in self.during]
        return {
            "scenario": self.scenario,
            "clients": self.notes.get("clients", 1),
            "requests": len(self.during) + len(self.writes),
            "5xx": len(self.server_errors),
            "fallback": sum(a.personalised and not personal(a) for a in self.during),
            "first_s": max((a.seconds for a in self.first), default=None),
            "p50_s": statistics.median(seconds) if seconds else None,
            "max_later_s": max((a.seconds for a in self.later), default=None),
            "worst_s": max((a.seconds for a in self.during + self.writes), default=None),
            "recover_s": self.recovered_after,
        }


@dataclass
class Visitor:
    """What the scenarios request: a logged-in session (site) and a token (API) of one user with ratings."""

    port: int
    username: str
    password: str
    token: str
    cookie: str = ""
    ratings: list[tuple[int, int]] = field(default_factory=list)  # (movie, score) to PUT during each fault

    def write_ratings(self) -> list[Answer]:
        """PUT the next queued rating (one per fault), through the API."""
        if not self.ratings:
            return []
        movie, score = self.ratings.pop(0)
        return [request(self.port, "PUT", f"/api/me/ratings/{movie}/", token=self.token, body={"score": score})]

    def log_in(self) -> Visitor:
        self.cookie = login(self.port, self.username, self.password)
        return self

    def home(self) -> Answer:
        """The logged-in home page: personal rows, from one Milvus search."""
        answer = get(self.port, "/", cookie=self.cookie)
        answer.personalised = True
        return answer

    def recommendations(self) -> Answer:
        answer = get(self.port, "/api/me/recommendations/?k=10", token=self.token)
        answer.personalised = True
        return answer

    def milvus_paths(self) -> list[Callable[[], Answer]]:
        """Requests that search Milvus: the logged-in home page and the user's API recommendations."""
        return [self.home, self.recommendations]

    def every_page(self) -> list[Callable[[], Answer]]:
        """Pages and API calls of every kind, anonymous and logged in (all read the cache)."""
        p = self.port
        return [
            lambda: get(p, "/"),
            lambda: get(p, "/movies/"),
            lambda: get(p, "/movies/3/"),
            lambda: get(p, "/api/movies/?page_size=5", token=self.token),
            self.home,
            lambda: get(p, "/movies/?genre=Drama", cookie=self.cookie),
            self.recommendations,
            lambda: get(p, "/api/me/ratings/", token=self.token),
        ]


def requests_for(seconds: float, calls: list[Callable[[], Answer]], at_least: int = 0, clients: int = 1) -> list:
    """The calls in turn for `seconds` (and at least `at_least` of them per client), one at a time by each of
    `clients` clients at once; the answers in the order they were sent."""

    def one_client(offset: int) -> list[Answer]:
        answers, started = [], time.monotonic()
        while time.monotonic() - started < seconds or len(answers) < at_least:
            answers.append(calls[(offset + len(answers)) % len(calls)]())
        return answers

    if clients == 1:
        return one_client(0)
    with ThreadPoolExecutor(clients) as pool:
        per_client = list(pool.map(one_client, range(clients)))
    return sorted((answer for answers in per_client for answer in answers), key=lambda answer: answer.at)


def until_good(calls: list[Callable[[], Answer]], good: Callable[[Answer], bool], limit: float) -> tuple[float, list]:
    """Call in turn until one answer is good; (seconds it took, answers). Raises after `limit` seconds."""
    answers, started = [], time.monotonic()
    while time.monotonic() - started < limit:
        answer = calls[len(answers) % len(calls)]()
        answers.append(answer)
        if good(answer):
            return time.monotonic() - started, answers
        time.sleep(0.05)  # the pace of the calls: the time to the first good answer is what is measured
    raise AssertionError(
        f"not recovered within {limit:.0f} s; last answers: {[(a.path, a.status) for a in answers[-4:]]}"
    )


def milvus_hang(milvus: MilvusLite, visitor: Visitor, seconds: float = 10.0, clients: int = 1) -> Measured:
    """SIGSTOP the Milvus server for `seconds` of requests, then SIGCONT: personal answers again, same web server."""
    result = Measured("Milvus hung (SIGSTOP)", notes={"clients": clients})
    calls = visitor.milvus_paths()
    milvus.signal(signal.SIGSTOP)
    try:
        result.during = requests_for(seconds, calls, at_least=4, clients=clients)
        result.writes = visitor.write_ratings()
    finally:
        milvus.signal(signal.SIGCONT)
    result.recovered_after, result.after = until_good(calls, personal, limit=BREAKER_SECONDS + 4 * MILVUS_TIMEOUT + 10)
    result.after += [call() for call in calls]
    return result


def milvus_kill(milvus: MilvusLite, visitor: Visitor, seconds: float = 6.0, clients: int = 1) -> Measured:
    """SIGKILL the Milvus server, requests for `seconds`, restart it on the same folder and port."""
    result = Measured("Milvus killed, restarted", notes={"clients": clients})
    calls = visitor.milvus_paths()
    milvus.kill()
    result.during = requests_for(seconds, calls, at_least=4, clients=clients)
    result.writes = visitor.write_ratings()
    milvus.start()
    result.recovered_after, result.after = until_good(calls, personal, limit=BREAKER_SECONDS + 4 * MILVUS_TIMEOUT + 10)
    result.after += [call() for call in calls]
    return result


def broker_hang(broker: Redis, visitor: Visitor, staff_token: str, seconds: float = 6.0) -> Measured:
    """SIGSTOP the job broker (a redis-server) for `seconds` of retrain requests (POST /api/models/train/ by a staff
    token): each should answer 503 within the publish deadline; then SIGCONT."""
    result = Measured("job broker hung (SIGSTOP), POST /api/models/train/", notes={"503 expected": True})

    def train() -> Answer:
        return request(visitor.port, "POST", "/api/models/train/", token=staff_token, body={})

    broker.signal(signal.SIGSTOP)
    try:
        result.during = requests_for(seconds, [train], at_least=2)
        result.writes = visitor.write_ratings()
    finally:
        broker.signal(signal.SIGCONT)
    result.notes["answers"] = sorted({a.status for a in result.during})
    return result


def cache_written(redis: Redis, visitor: Visitor) -> Callable[[Answer], bool]:
    def good(answer: Answer) -> bool:
        return answer.status == 200 and redis.keys() > 0

    return good


def redis_stop(redis: Redis, visitor: Visitor, seconds: float = 6.0, clients: int = 1) -> Measured:
    """Stop redis-server (SIGTERM) for `seconds` of requests of every kind, log-in included; start a fresh one on
    the same port: the cache is written again."""
    result = Measured("Redis stopped, restarted", notes={"clients": clients})
    calls = visitor.every_page()
    redis.signal(signal.SIGTERM)
    redis.proc.wait(timeout=30)
    result.during = requests_for(seconds, calls, at_least=len(calls), clients=clients)
    cookie = login(visitor.port, visitor.username, visitor.password)  # sessions live in the database
    result.during.append(get(visitor.port, "/", cookie=cookie))
    result.notes["log-in during the outage, then home"] = result.during[-1].status
    result.writes = visitor.write_ratings()
    redis.start()
    result.recovered_after, result.after = until_good(calls, cache_written(redis, visitor), limit=30)
    result.notes["keys after"] = redis.keys()
    return result


def redis_hang(redis: Redis, visitor: Visitor, seconds: float = 6.0, clients: int = 1) -> Measured:
    """SIGSTOP redis-server for `seconds` of requests of every kind, then SIGCONT."""
    result = Measured("Redis hung (SIGSTOP)", notes={"clients": clients})
    calls = visitor.every_page()
    before = redis.keys()
    redis.signal(signal.SIGSTOP)
    try:
        result.during = requests_for(seconds, calls, at_least=len(calls), clients=clients)
        result.writes = visitor.write_ratings()
    finally:
        redis.signal(signal.SIGCONT)
    flushed = redis_flush(redis)
    result.recovered_after, result.after = until_good(calls, cache_written(redis, visitor), limit=30)
    result.notes.update(keys_before=before, flushed=flushed)
    return result


def redis_flush(redis: Redis) -> bool:
    import redis as redis_py

    client = redis_py.Redis.from_url(redis.url, socket_timeout=2)
    try:
        return bool(client.flushdb())
    finally:
        client.close()

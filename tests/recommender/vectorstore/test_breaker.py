"""Bounded waits on a Milvus server: no lock serialises server calls, each has a deadline, and a circuit breaker
skips a failing server, probes it after a cool-down and closes when it answers.

The breaker's state machine runs on a fake clock; the store runs against a real `milvus-lite server` process on
loopback that the tests hang (SIGSTOP), resume (SIGCONT), kill (SIGKILL) and restart on the same folder.
"""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from recommender.vectorstore import VectorStore, VectorStoreError
from recommender.vectorstore.breaker import CircuitBreaker
from tests.support import free_port, listening, running, wait_until

from .conftest import make_catalogue

TIMEOUT, COOL_DOWN = 1.5, 2.0


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_breaker_opens_after_consecutive_failures_and_closes_after_a_probe():
    clock = Clock()
    breaker = CircuitBreaker(failures=3, seconds=5, clock=clock)
    assert breaker.state == "closed" and breaker.refusal() is None
    assert breaker.failure("refused") is False
    breaker.success()  # a success in between: the count starts again
    assert [breaker.failure("refused") for _ in range(3)] == [False, False, True]
    assert breaker.state == "open" and "circuit open after 3 failures (last: refused)" in breaker.refusal()
    assert breaker.probe_claim() is False  # still cooling down
    clock.now += 5
    assert breaker.state == "half-open"
    assert breaker.probe_claim() is True and breaker.probe_claim() is False  # one probe at a time
    assert breaker.refusal() is not None  # everybody else is still refused while it runs
    breaker.success()
    assert breaker.state == "closed" and breaker.refusal() is None and breaker.opened == 1


def test_breaker_opens_at_once_on_a_timeout_and_a_failed_probe_reopens_it():
    clock = Clock()
    breaker = CircuitBreaker(failures=3, seconds=5, clock=clock)
    assert breaker.failure("deadline exceeded", timed_out=True) is True
    assert breaker.state == "open"
    clock.now += 5
    assert breaker.probe_claim() is True
    assert breaker.failure("probe: deadline exceeded", timed_out=True) is False  # re-opened, not newly opened
    assert breaker.state == "open" and "next try in 5.0 s" in breaker.refusal()
    clock.now += 5
    assert breaker.probe_claim() is True
    breaker.probe_done()  # a probe that ended without an answer counts as a failure
    assert breaker.state == "open"


def test_breaker_refuses_bad_settings():
    with pytest.raises(ValueError):
        CircuitBreaker(failures=0)


def test_a_lite_store_has_no_breaker_and_keeps_its_lock(tmp_path):
    lite = VectorStore(str(tmp_path / "lite.db"))
    server = VectorStore("http://127.0.0.1:9")
    assert lite.breaker is None and hasattr(lite._lock, "acquire")
    assert server.breaker is not None and not hasattr(server._lock, "acquire")


# --- a real milvus-lite server process ---------------------------------------------------------------------


class LiteServer:
    """`milvus-lite server` on a fixed folder and port, restartable; killed by the fixture whatever happens."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.port, self.proc = folder, free_port(), None
        self.exe = str(Path(sys.executable).with_name("milvus-lite"))
        if not os.access(self.exe, os.X_OK):
            pytest.skip("the milvus-lite command is not installed (pip install milvus-lite==3.2.2)")

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        argv = [self.exe, "server", "--data-dir", str(self.folder), "--host", "127.0.0.1", "--port", str(self.port)]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def up() -> bool:
            assert self.proc.poll() is None, "milvus-lite server exited"
            return listening(self.port)

        wait_until(up, 30, "the milvus-lite server", interval=0.05)

    def signal(self, number: int) -> None:
        os.kill(self.proc.pid, number)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()  # SIGKILL also ends a stopped process
            self.proc.wait(timeout=20)


@pytest.fixture
def lite_server(tmp_path):
    with running(LiteServer(tmp_path / "server")) as server:
        yield server


@pytest.fixture
def server_store(lite_server):
    store = VectorStore(lite_server.uri, timeout=TIMEOUT, breaker_failures=3, breaker_seconds=COOL_DOWN)
    catalogue = make_catalogue()
    store.build_collection(1, catalogue.ids, catalogue.vectors, catalogue.genres, catalogue.years)
    store.switch_alias(1)
    yield store, catalogue
    store.close()


def timed(call) -> tuple[float, object]:
    started = time.monotonic()
    try:
        result = call()
    except VectorStoreError as exc:
        result = exc
    return time.monotonic() - started, result


def wait_for_answer(store: VectorStore, query: np.ndarray, limit: float) -> tuple[float, list]:
    """Search every 0.1 s until Milvus answers; (seconds it took, the hits)."""
    started = time.monotonic()
    hits = wait_until(lambda: store.search(query, k=5), limit, "an answer from Milvus", ignore=(VectorStoreError,))
    return time.monotonic() - started, hits


@pytest.mark.slow(reason="a real milvus-lite server builds a 10,000-vector collection")
def test_searches_go_on_while_another_thread_builds_a_collection(server_store):
    """No lock serialises calls to a server: with the per-URI lock of old, every search waited for the build."""
    store, catalogue = server_store
    big = make_catalogue(n=10_000, first_id=100_000, seed=3)
    errors: list = []

    def build() -> None:
        try:
            store.build_collection(2, big.ids, big.vectors, big.genres, big.years)
        except Exception as exc:  # reported below
            errors.append(exc)

    builder = threading.Thread(target=build)
    started = time.monotonic()
    builder.start()
    latencies = []
    while builder.is_alive() and time.monotonic() - started < 120:
        seconds, hits = timed(lambda: store.search(catalogue.vectors[0], k=5))
        assert isinstance(hits, list) and hits[0][0] == int(catalogue.ids[0]), hits
        latencies.append(seconds)
        time.sleep(0.02)  # the scenario's pace: a search every 20 ms while the build runs
    builder.join(timeout=120)
    build_seconds = time.monotonic() - started
    assert not errors and store.count("movies_v2") == len(big.ids), errors
    assert len(latencies) >= 3 and max(latencies) < build_seconds / 2, (build_seconds, latencies)


@pytest.mark.slow(reason="a milvus-lite server hung with SIGSTOP: waits out deadlines and the cool-down")
def test_hung_server_costs_one_deadline_in_parallel_then_the_breaker_answers_at_once(lite_server, server_store):
    store, catalogue = server_store
    query = catalogue.vectors[3]
    before = store.search(query, k=5)
    lite_server.signal(signal.SIGSTOP)
    try:
        # four callers at once on a hung server: each waits one deadline, side by side (a lock would make it 4x)
        results: list = [None] * 4
        barrier = threading.Barrier(4)

        def call(i: int) -> None:
            barrier.wait()
            results[i] = timed(lambda: store.search(query, k=5))

        threads = [threading.Thread(target=call, args=(i,)) for i in range(4)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        wall = time.monotonic() - started
        assert all(isinstance(error, VectorStoreError) for _, error in results), results
        assert max(seconds for seconds, _ in results) < TIMEOUT + 1.0, results
        assert wall < 2 * TIMEOUT, f"four parallel calls took {wall:.1f} s: serialised"
        assert store.breaker.state == "open"

        # open: every kind of call is refused at once, saying why
        for call_once in (lambda: store.search(query, k=5), store.live_version, store.count):
            seconds, error = timed(call_once)
            assert isinstance(error, VectorStoreError) and "circuit open" in str(error), error
            assert seconds < 0.1, seconds
        # cool-down over, server still hung: the probe runs in the background, the caller waits only a little
        time.sleep(COOL_DOWN + 0.1)
        seconds, error = timed(lambda: store.search(query, k=5))
        assert isinstance(error, VectorStoreError) and "circuit open" in str(error) and seconds < 0.5, (seconds, error)
    finally:
        lite_server.signal(signal.SIGCONT)
    took, hits = wait_for_answer(store, query, limit=COOL_DOWN + 2 * TIMEOUT + 5)
    assert hits == before and store.breaker.state == "closed"
    assert took < COOL_DOWN + 2 * TIMEOUT + 1, took


@pytest.mark.slow(reason="a milvus-lite server killed and restarted on its folder")
def test_killed_server_restarted_on_its_folder_is_used_again_by_the_same_store(lite_server, server_store):
    store, catalogue = server_store
    query = catalogue.vectors[7]
    before = store.search(query, k=5)
    lite_server.kill()
    for _ in range(5):  # refused connections fail fast; the breaker then answers without trying
        seconds, error = timed(lambda: store.search(query, k=5))
        assert isinstance(error, VectorStoreError) and seconds < TIMEOUT, (seconds, error)
    assert store.breaker.state == "open"
    lite_server.start()
    took, hits = wait_for_answer(store, query, limit=COOL_DOWN + 10)
    assert hits == before and store.live_version() == 1
    assert took < COOL_DOWN + 3, took


def test_a_client_dropped_while_another_thread_uses_it_is_closed_only_after_that_call(server_store):
    """A transport failure in one thread drops the shared client; a call another thread is making on it goes on
    (no 'Cannot invoke RPC on closed channel'), the next call gets a fresh client, and the dropped one is closed
    when its last call returns."""
    store, catalogue = server_store
    holding, go_on, answers = threading.Event(), threading.Event(), []

    def slow_call() -> None:
        with store._calling("a call in flight") as client:
            holding.set()
            go_on.wait(10)
            answers.append((client, client.has_collection(store.collection_name(1))))

    caller = threading.Thread(target=slow_call)
    caller.start()
    assert holding.wait(10)
    with pytest.raises(VectorStoreError, match="connection refused"):
        with store._calling("a failing call"):
            raise ConnectionError("connection refused")  # what a transport failure leaves: the client dropped
    go_on.set()
    caller.join(10)
    ((held, found),) = answers
    assert found is True  # the call in flight finished on the dropped client
    assert store.search(catalogue.vectors[0], k=1)[0][0] == int(catalogue.ids[0])
    assert store._client is not held  # the next call connected afresh
    with pytest.raises(Exception, match="closed channel|should create connection first"):
        held.has_collection(store.collection_name(1))  # and the dropped client was closed after its last call

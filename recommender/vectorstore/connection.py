"""The Milvus client under VectorStore: connected lazily, one lock per Milvus Lite path, every failure turned into
a VectorStoreError, and for a Milvus server a circuit breaker (breaker.py) that refuses calls at once while the
server is away and probes it in the background."""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from .breaker import CircuitBreaker
from .lite import LiteRegistry, client_error_message
from .pymilvus_env import pymilvus_import

logger = logging.getLogger(__name__)

# Milvus error codes (MilvusException.code) that are answers about data, not a broken connection:
COLLECTION_NOT_FOUND_CODE = 100  # the collection (or the alias's target) does not exist
NOT_LOADED_CODE = 101  # the collection exists but is not loaded: "call load() before search/get/query"
INDEX_ALREADY_EXISTS_CODE = 35  # create_index on a field that already has this index (legacy ErrorCode)
PARAMETER_INVALID_CODE = 1100  # a request Milvus refused as invalid (bad name, filter or parameter)
NOT_TRANSPORT_CODES = (COLLECTION_NOT_FOUND_CODE, NOT_LOADED_CODE, INDEX_ALREADY_EXISTS_CODE, PARAMETER_INVALID_CODE)
PROBE_WAIT_SECONDS = 0.25  # how long a refused caller waits for the breaker's probe (a live server answers in ms)
# gRPC channel options for a Milvus server. pymilvus pings every 10 s; a gRPC server (Lite included) answers
# pings more often than every 5 min during a long call (a 100k HNSW build) with GOAWAY "too_many_pings", and
# pymilvus then retries it. A fresh channel gets its own subchannels (gRPC shares them per target by default,
# so a new channel would inherit the old one's reconnect back-off), and the back-off is capped at 1 s: a
# restarted server is found again within a second, not after gRPC's default of up to 120 s.
SERVER_GRPC_OPTIONS = {
    "grpc.keepalive_time_ms": 330_000,
    "grpc.keepalive_permit_without_calls": 0,  # no pings on an idle channel (the server's GOAWAY too_many_pings)
    "grpc.use_local_subchannel_pool": 1,
    "grpc.initial_reconnect_backoff_ms": 200,
    "grpc.min_reconnect_backoff_ms": 200,
    "grpc.max_reconnect_backoff_ms": 1000,
}


class VectorStoreError(Exception):
    """Any failure of the vector store itself (connection, missing collection, Milvus error)."""


class LiveCollectionError(VectorStoreError):
    """Refused: the operation would drop or rebuild the collection the alias serves from."""


class MilvusConnection:
    """The client of one Milvus (Lite path or server URI) and how calls go through it.

    Milvus Lite (a .db path): every call holds one lock per path. The embedded server runs inside this process
    and milvus_lite's engine is single-writer per collection (see milvus_lite/adapter/grpc/server.py); the
    lock also guards the embedded server's lifetime (LiteRegistry). It cannot hang apart from this process.

    A Milvus server (http://...): no lock around calls. pymilvus's client is a gRPC channel and stub, which
    are thread-safe, and its ConnectionManager and caches take their own locks; only connecting, dropping
    and counting the calls that hold the client are serialised (a client dropped after a transport failure is
    closed when its last call returns). Each RPC has the deadline `timeout`, and a circuit breaker (breaker.py)
    refuses calls at once for `breaker_seconds` after `breaker_failures` consecutive transport failures or one
    timeout, then probes the server in the background and closes again when it answers.
    """

    def __init__(self, uri: str, *, token: str, timeout: float, breaker_failures: int, breaker_seconds: float):
        self.is_lite = not re.match(r"^(https?|tcp|unix)://", uri) and not uri.startswith("unix:")
        if self.is_lite:
            if not uri.endswith(".db"):
                raise ValueError(f"a Milvus Lite path must end with .db (pymilvus routes on it): {uri!r}")
            uri = str(Path(uri).expanduser().resolve())
        self.uri, self.token, self.timeout = uri, token, float(timeout)
        # Lite: the per-path lock around every call; a server: no lock around calls
        self._lock = LiteRegistry.lock_for(uri) if self.is_lite else contextlib.nullcontext()
        self._connect_lock = threading.RLock()  # connecting and dropping the client
        self._client = None
        self._in_use: dict[int, int] = {}  # id(client) -> calls holding it
        self._retired: dict[int, object] = {}  # dropped while in use: closed when its last call returns
        self._closed = False
        # Lite runs inside this process: nothing to break away from
        self.breaker = None if self.is_lite else CircuitBreaker(breaker_failures, breaker_seconds)

    def _load_live(self, client) -> None:
        """Load what serves (VectorStore: the alias's collection) on connecting and in the breaker's probe."""

    # --- connection -------------------------------------------------------------------------

    def _client_lease(self, *, probe: bool = False):
        """The client, connected lazily so a dead store never breaks process start-up, counted as in use until
        `_client_return`: a client dropped while other calls hold it is closed by the last of them, so no call
        ever runs on a channel another thread closed."""
        with self._connect_lock:
            client = self._client
            if client is None:
                refusal = not probe and self.breaker and self.breaker.refusal()
                if refusal:  # a connect that failed while this thread waited for the lock opened the breaker
                    raise VectorStoreError(f"vector store {self.uri} unavailable: {refusal}")
                client = self._connect()
            self._in_use[id(client)] = self._in_use.get(id(client), 0) + 1
            return client

    def _client_return(self, client) -> None:
        with self._connect_lock:
            left = self._in_use.pop(id(client)) - 1
            if left:
                self._in_use[id(client)] = left
            elif self._retired.pop(id(client), None) is not None:
                self._client_close(client)

    def _connect(self):
        pymilvus_import()
        from pymilvus import MilvusClient

        if self.is_lite:
            Path(self.uri).parent.mkdir(parents=True, exist_ok=True)
            LiteRegistry.acquire(self.uri)
            keepalive = ("grpc.keepalive_time_ms", "grpc.keepalive_permit_without_calls")
            options = {"grpc_options": {name: SERVER_GRPC_OPTIONS[name] for name in keepalive}}
        else:  # a channel of its own (closed with the client), so a reconnect really gets a fresh one
            options = {"grpc_options": dict(SERVER_GRPC_OPTIONS), "dedicated": True}
        try:
            client = MilvusClient(uri=self.uri, token=self.token, timeout=self.timeout, **options)
        except Exception:
            if self.is_lite:
                LiteRegistry.release(self.uri)
            raise
        self._client = client
        try:
            self._load_live(client)  # after a restart nothing is loaded: load before the first search
        except Exception as exc:  # the alias may not exist yet; searches will say so themselves
            if not self.is_lite and self._is_transport_error(exc):
                self._drop_client(client)
                raise
            logger.info("vector store %s: live collection not loaded at connect: %s", self.uri, exc)
        return client

    @contextlib.contextmanager
    def _calling(self, what: str, *, probe: bool = False) -> Iterator:
        """Hand out the client (holding the lock for Lite) and turn every failure into a VectorStoreError;
        refused at once while the circuit breaker is open."""
        if not probe:
            self._closed = False
            self._breaker_check(what)
        with self._lock:
            client, started = None, time.monotonic()
            try:
                client = self._client_lease(probe=probe)
                yield client
            except (VectorStoreError, ValueError):  # our own refusals, and bad arguments
                raise
            except Exception as exc:
                message = client_error_message(exc, self.uri)
                if not self._is_transport_error(exc):
                    if self.breaker:
                        self.breaker.success()  # the server answered (about missing or unloaded data)
                    raise VectorStoreError(f"{what} failed ({self.uri}): {message}") from exc
                if client is None or client is self._client:  # a stale client's failures were counted already
                    self._drop_client(client)  # reconnect on the next call (a restarted server gets a fresh channel)
                    self._failure_record(what, message, time.monotonic() - started, exc)
                raise VectorStoreError(f"{what} failed ({self.uri}): {message}") from exc
            else:
                if self.breaker:
                    self.breaker.success()
            finally:
                if client is not None:
                    self._client_return(client)

    # --- circuit breaker (server URIs) ------------------------------------------------------------

    def _breaker_check(self, what: str) -> None:
        """Raise at once while the breaker is open; once its cool-down is over, probe the server in the
        background and wait for that a fraction of a second (a live server answers in milliseconds)."""
        if self.breaker is None or self.breaker.refusal() is None:
            return
        if self.breaker.probe_claim():
            probe = threading.Thread(target=self._probe, name="milvus-breaker-probe", daemon=True)
            probe.start()
            probe.join(PROBE_WAIT_SECONDS)
        refusal = self.breaker.refusal()
        if refusal:
            raise VectorStoreError(f"{what} skipped: vector store {self.uri} unavailable, {refusal}")

    def _probe(self) -> None:
        """The half-open state's one trial call: reconnect if needed and (re)load the live collection."""
        try:
            if self._closed:
                return
            with self._calling("probe", probe=True) as client:
                self._load_live(client)
            logger.warning("vector store %s: answering again, circuit closed", self.uri)
        except Exception as exc:  # recorded by _calling; the store stays open for another cool-down
            logger.info("vector store %s: probe failed, circuit stays open: %s", self.uri, exc)
        finally:
            self.breaker.probe_done()

    def _failure_record(self, what: str, message: str, elapsed: float, exc: Exception) -> None:
        if self.breaker is None:
            return
        timed_out = elapsed >= 0.9 * self.timeout or "DEADLINE_EXCEEDED" in f"{exc!r} {exc.__cause__!r}"
        if self.breaker.failure(f"{what}: {message[:200]}", timed_out=timed_out):
            logger.warning(
                "vector store %s: circuit open for %.0f s after %s (%.1f s): %s",
                self.uri,
                self.breaker.seconds,
                "a timeout" if timed_out else f"{self.breaker.failures_to_open} failures",
                elapsed,
                message[:300],
            )

    def _is_transport_error(self, exc: Exception) -> bool:
        """Not a Milvus answer about data: for Lite, only non-Milvus failures (restarting the embedded
        server on a logical error would only cost a reload); for a server, anything but 'missing/not loaded'."""
        code = getattr(exc, "code", None)
        if self.is_lite:
            return code is None
        return code not in NOT_TRANSPORT_CODES

    def _drop_client(self, client=None) -> None:
        """Forget the client (only `client`, when given: another thread may have reconnected) and close it, at
        once when no call holds it, else when the last one returns."""
        with self._connect_lock:
            current = self._client
            if current is None or (client is not None and current is not client):
                return
            self._client = None
            if self._in_use.get(id(current)):
                self._retired[id(current)] = current
            else:
                self._client_close(current)

    def _client_close(self, client) -> None:
        with contextlib.suppress(Exception):
            client.close()
        if self.is_lite:
            LiteRegistry.release(self.uri)

    def close(self) -> None:
        """Close the client; for Lite the embedded server stops when its last store closes (frees the dir lock)."""
        with self._lock:
            self._closed = True
            self._drop_client()

"""VectorStore: versioned movie-vector collections in Milvus (Lite or server) behind one serving alias."""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from .breaker import CircuitBreaker
from .filters import ML1M_GENRES, as_movie_id, as_movie_ids, build_filter
from .lite import LiteRegistry, client_error_message
from .pymilvus_env import pymilvus_import
from .schema import INDEX_TYPES, INSERT_BATCH, iter_row_batches, make_index_params, make_schema, search_params

logger = logging.getLogger(__name__)

MAX_TOP_K = 16384  # Milvus's topk ceiling
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
    "grpc.use_local_subchannel_pool": 1,
    "grpc.initial_reconnect_backoff_ms": 200,
    "grpc.min_reconnect_backoff_ms": 200,
    "grpc.max_reconnect_backoff_ms": 1000,
}


# Reads see this client's own writes (what the indexing process and the tests need) without waiting for every
# node's time tick, as "Strong" would on a Milvus server (~200 ms a search); other processes read after the
# collection is flushed, indexed and loaded, and only then pointed at by the alias. Lite has one node: all equal.
CONSISTENCY = "Session"


class VectorStoreError(Exception):
    """Any failure of the vector store itself (connection, missing collection, Milvus error)."""


class LiveCollectionError(VectorStoreError):
    """Refused: the operation would drop or rebuild the collection the alias serves from."""


class VectorStore:
    """All Milvus access for movie vectors through one client.

    Milvus Lite (a .db path): every call holds one lock per path. The embedded server runs inside this process
    and milvus_lite's engine is single-writer per collection (see milvus_lite/adapter/grpc/server.py); the
    lock also guards the embedded server's lifetime (LiteRegistry). It cannot hang apart from this process.

    A Milvus server (http://...): no lock around calls. pymilvus's client is a gRPC channel and stub, which
    are thread-safe, and its ConnectionManager and caches take their own locks; only connecting and dropping
    the client are serialised. Each RPC has the deadline `timeout`, and a circuit breaker (breaker.py) refuses
    calls at once for `breaker_seconds` after `breaker_failures` consecutive transport failures or one
    timeout, then probes the server in the background and closes again when it answers.
    """

    def __init__(
        self,
        uri: str,
        *,
        token: str = "",
        alias: str = "movies_live",
        prefix: str = "movies_v",
        timeout: float = 10.0,
        index_type: str = "HNSW",
        metric: str = "COSINE",
        build_timeout: float = 900.0,
        breaker_failures: int = 3,
        breaker_seconds: float = 5.0,
        search_ef: int = 0,
    ) -> None:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", prefix) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", alias):
            raise ValueError("alias and prefix must be Milvus identifiers (letters, digits, underscore)")
        if index_type not in INDEX_TYPES:
            raise ValueError(f"index_type must be HNSW, IVF_FLAT or FLAT, got {index_type!r}")
        self.is_lite = not re.match(r"^(https?|tcp|unix)://", uri) and not uri.startswith("unix:")
        if self.is_lite:
            if not uri.endswith(".db"):
                raise ValueError(f"a Milvus Lite path must end with .db (pymilvus routes on it): {uri!r}")
            uri = str(Path(uri).expanduser().resolve())
        self.uri, self.token, self.alias, self.prefix = uri, token, alias, prefix
        self.timeout, self.index_type, self.metric = float(timeout), index_type, metric
        self.search_ef = max(int(search_ef), 0)  # HNSW ef floor (schema.search_params); 0 = by limit only
        self.build_timeout = max(float(build_timeout), self.timeout)  # index builds outlast a search deadline
        self.known_genres: set[str] = set(ML1M_GENRES)  # for callers without a catalogue list (filters.py)
        # Lite: the per-path lock around every call; a server: no lock around calls
        self._lock = LiteRegistry.lock_for(uri) if self.is_lite else contextlib.nullcontext()
        self._connect_lock = threading.RLock()  # connecting and dropping the client
        self._client = None
        self._closed = False
        # Lite runs inside this process: nothing to break away from
        self.breaker = None if self.is_lite else CircuitBreaker(breaker_failures, breaker_seconds)

    # --- connection -------------------------------------------------------------------------

    def _client_get(self, *, probe: bool = False):
        """The client, connected lazily (under the connect lock) so a dead store never breaks process start-up."""
        client = self._client
        if client is not None:
            return client
        with self._connect_lock:
            if self._client is not None:
                return self._client
            refusal = not probe and self.breaker and self.breaker.refusal()
            if refusal:  # a connect that failed while this thread waited for the lock opened the breaker
                raise VectorStoreError(f"vector store {self.uri} unavailable: {refusal}")
            return self._connect()

    def _connect(self):
        pymilvus_import()
        from pymilvus import MilvusClient

        if self.is_lite:
            Path(self.uri).parent.mkdir(parents=True, exist_ok=True)
            LiteRegistry.acquire(self.uri)
            options = {"grpc_options": {"grpc.keepalive_time_ms": SERVER_GRPC_OPTIONS["grpc.keepalive_time_ms"]}}
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
                client = self._client_get(probe=probe)
                yield client
            except (VectorStoreError, ValueError) as exc:
                if not _closed_channel(exc):
                    raise
                # another thread dropped this client while the call ran: a transport failure, not counted
                raise VectorStoreError(f"{what} failed ({self.uri}): the connection was reset, try again") from exc
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
        """Forget and close the client (only `client`, when given: another thread may have reconnected)."""
        with self._connect_lock:
            current = self._client
            if current is None or (client is not None and current is not client):
                return
            self._client = None
            with contextlib.suppress(Exception):
                current.close()
            if self.is_lite:
                LiteRegistry.release(self.uri)

    def close(self) -> None:
        """Close the client; for Lite the embedded server stops when its last store closes (frees the dir lock)."""
        with self._lock:
            self._closed = True
            self._drop_client()

    # --- names and versions -----------------------------------------------------------------

    def collection_name(self, version: int) -> str:
        return f"{self.prefix}{as_movie_id(version)}"

    def _version_of(self, name: str) -> int | None:
        match = re.fullmatch(rf"{re.escape(self.prefix)}(\d+)", name)
        return int(match.group(1)) if match else None

    def list_versions(self) -> list[int]:
        with self._calling("list collections") as client:
            names = client.list_collections(timeout=self.timeout)
        return sorted(v for v in map(self._version_of, names) if v is not None)

    def _live_name(self, client) -> str | None:
        aliases = client.list_aliases(timeout=self.timeout).get("aliases", [])
        if self.alias not in aliases:
            return None
        return client.describe_alias(self.alias, timeout=self.timeout)["collection_name"]

    def live_version(self) -> int | None:
        with self._calling("describe alias") as client:
            name = self._live_name(client)
        return None if name is None else self._version_of(name)

    # --- loading ----------------------------------------------------------------------------

    def _load(self, client, name: str) -> None:
        state = client.get_load_state(name, timeout=self.timeout)["state"]
        if getattr(state, "name", str(state)) != "Loaded":
            client.load_collection(name, timeout=self.timeout)

    def _load_live(self, client) -> None:
        name = self._live_name(client)
        if name is not None:
            self._load(client, name)

    def ensure_loaded(self) -> None:
        """Load the live collection (connect does this too; call it from a ready-check after restarts)."""
        with self._calling("load live collection") as client:
            self._load_live(client)

    def _with_load_retry(self, client, name: str, call):
        """Run call(); if the collection was released (restart, other process) load it once and retry."""
        pymilvus_import()
        from pymilvus.exceptions import MilvusException

        try:
            return call()
        except MilvusException as exc:
            if exc.code != NOT_LOADED_CODE:
                raise
            target = (
                client.describe_alias(name, timeout=self.timeout)["collection_name"] if name == self.alias else name
            )
            client.load_collection(target, timeout=self.timeout)
            return call()

    # --- writing ----------------------------------------------------------------------------

    def _wait_for_index(self, client, name: str) -> None:
        deadline, pause = time.monotonic() + self.build_timeout, 0.01
        while True:
            info = client.describe_index(name, "vector", timeout=self.timeout)
            if info.get("state") == "Finished" and not info.get("pending_index_rows"):
                return
            if info.get("state") == "Failed" or time.monotonic() > deadline:
                raise VectorStoreError(f"index on {name} not built: {info}")
            time.sleep(pause)
            pause = min(pause * 2, 0.5)

    def build_collection(self, version: int, movie_ids, vectors, genres, years, *, force: bool = False) -> str:
        """(Re)create the version's collection, insert, flush, index and load it; the alias is not touched.

        Rebuilding the collection the alias serves from is refused unless force=True (it would break serving).
        """
        name = self.collection_name(version)
        batches = list(iter_row_batches(int(version), movie_ids, vectors, genres, years))  # validate, then drop
        self.known_genres.update(g for names in genres for g in names)
        dim = int(np.asarray(vectors).shape[1])
        with self._calling(f"build collection {name}") as client:
            was_live = self._live_name(client) == name
            if was_live and not force:
                raise LiveCollectionError(f"{name} is live behind alias {self.alias}; switch first or force")
            if was_live:  # a Milvus server keeps an alias whose collection was dropped: release it first
                client.drop_alias(self.alias, timeout=self.timeout)
            if client.has_collection(name, timeout=self.timeout):
                client.drop_collection(name, timeout=self.timeout)
            client.create_collection(
                name, schema=make_schema(client, dim), consistency_level=CONSISTENCY, timeout=self.timeout
            )
            for batch in batches:
                client.insert(name, batch, timeout=self.build_timeout)
            client.flush(name, timeout=self.build_timeout)  # without flush Lite keeps rows only in the memtable
            params = make_index_params(client, self.index_type, self.metric, sum(map(len, batches)))
            # sync=False: pymilvus's own wait sleeps a fixed 0.5 s per poll; ours polls from 10 ms up
            try:
                client.create_index(name, params, timeout=self.build_timeout, sync=False)
            except Exception as exc:  # a retried create_index finds the first attempt's index: that is success
                if getattr(exc, "code", None) != INDEX_ALREADY_EXISTS_CODE:
                    raise
            self._wait_for_index(client, name)
            client.load_collection(name, timeout=self.build_timeout)
            if was_live:  # the alias was released above: put it back on the rebuilt collection
                self._point_alias(client, name)
        logger.info("vector store: built %s (%d vectors, dim %d)", name, sum(map(len, batches)), dim)
        return name

    def upsert_vectors(self, version: int, movie_ids, vectors, genres, years) -> int:
        """Insert or replace some or all movies of an existing version's collection; returns rows written."""
        name = self.collection_name(version)
        batches = list(iter_row_batches(int(version), movie_ids, vectors, genres, years))
        self.known_genres.update(g for names in genres for g in names)
        with self._calling(f"upsert into {name}") as client:
            if not client.has_collection(name, timeout=self.timeout):
                raise VectorStoreError(f"collection {name} does not exist; build it first")
            for batch in batches:
                client.upsert(name, batch, timeout=self.build_timeout)
            client.flush(name, timeout=self.build_timeout)
        return sum(map(len, batches))

    # --- alias ------------------------------------------------------------------------------

    def _point_alias(self, client, name: str) -> None:
        if self._live_name(client) is None:
            client.create_alias(name, self.alias, timeout=self.timeout)
        else:
            client.alter_alias(name, self.alias, timeout=self.timeout)  # one atomic re-point, no gap

    def switch_alias(self, version: int) -> None:
        """Point the alias at a complete, loaded collection in one alter (create the first time)."""
        name = self.collection_name(version)
        with self._calling(f"switch alias {self.alias} to {name}") as client:
            if not client.has_collection(name, timeout=self.timeout):
                raise VectorStoreError(f"collection {name} does not exist")
            self._load(client, name)  # load first, so the first search after the switch finds it ready
            self._point_alias(client, name)
        logger.info("vector store: alias %s -> %s", self.alias, name)

    # --- reading ----------------------------------------------------------------------------

    def _search(self, client, name: str, queries: np.ndarray, limit: int, expr: str, beam: int):
        return client.search(
            name,
            data=list(queries),
            limit=limit,
            filter=expr,
            output_fields=["movie_id"],  # without it Lite returns every field, vectors included
            search_params=search_params(self.index_type, limit, beam=beam, ef=self.search_ef),
            timeout=self.timeout,
        )

    def search(self, vector, *, k: int, collection: str | None = None, **filters) -> list[tuple[int, float]]:
        """Top-k (movie_id, score) best first, on the alias unless a collection is named.

        filters: exclude_ids, genres, year_min, year_max, known_genres, genre_mode (see build_filter).
        """
        query = np.asarray(vector, dtype=np.float32)
        if query.ndim != 1:
            raise ValueError(f"search takes one 1-D vector, got shape {query.shape}")
        return self.search_many(query[None, :], k=k, collection=collection, **filters)[0]

    def search_many(
        self,
        vectors,
        *,
        k: int,
        collection: str | None = None,
        exclude_per_query: Sequence[Iterable[int]] | None = None,
        **filters,
    ) -> list[list[tuple[int, float]]]:
        """Batch search; exclude_per_query gives each query its own exclusions (over-fetch, then drop)."""
        queries = np.ascontiguousarray(vectors, dtype=np.float32)
        if queries.ndim != 2 or not np.isfinite(queries).all():
            raise ValueError("vectors must be a finite 2-D array (one row per query)")
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_TOP_K:
            raise ValueError(f"k must be an integer in 1..{MAX_TOP_K}, got {k!r}")
        own = [set(as_movie_ids(ex)) for ex in exclude_per_query] if exclude_per_query is not None else None
        if own is not None and len(own) != len(queries):
            raise ValueError("exclude_per_query must have one entry per query vector")
        filters.setdefault("known_genres", self.known_genres)
        expr = build_filter(**filters)
        limit = min(MAX_TOP_K, k + max(map(len, own), default=0)) if own else k
        name = collection or self.alias
        with self._calling(f"search {name}") as client:
            beam = 1 if filters.get("genres") or filters.get("year_min") or filters.get("year_max") else 0
            hits = self._with_load_retry(client, name, lambda: self._search(client, name, queries, limit, expr, beam))
            if expr and self.index_type != "FLAT" and any(len(h) < limit for h in hits):
                # a selective filter can leave the graph walk short of `limit` hits: retry with a wide beam
                hits = self._search(client, name, queries, limit, expr, beam=2)
        results = []
        for row, per_query in enumerate(hits):
            pairs = [(int(h["movie_id"]), float(h["distance"])) for h in per_query]
            if own is not None:
                pairs = [p for p in pairs if p[0] not in own[row]]
            results.append(pairs[:k])
        return results

    def get_vectors(self, movie_ids: Sequence[int], *, collection: str | None = None) -> dict[int, np.ndarray]:
        """Stored vectors by movie id (missing ids are simply absent)."""
        ids = as_movie_ids(movie_ids)
        if not ids:
            return {}
        name = collection or self.alias
        found: dict[int, np.ndarray] = {}
        with self._calling(f"get vectors from {name}") as client:
            for start in range(0, len(ids), INSERT_BATCH):  # the whole catalogue at serving start: keep each
                chunk = ids[start : start + INSERT_BATCH]  # answer as far under gRPC's 64 MB cap as an insert
                rows = self._with_load_retry(
                    client,
                    name,
                    lambda chunk=chunk: client.get(
                        name, ids=chunk, output_fields=["movie_id", "vector"], timeout=self.timeout
                    ),
                )
                found.update((int(r["movie_id"]), np.asarray(r["vector"], dtype=np.float32)) for r in rows)
        return found

    def count(self, collection: str | None = None) -> int:
        """Rows in a collection (the live one by default); count(*) stays exact after upserts."""
        name = collection or self.alias
        with self._calling(f"count {name}") as client:
            rows = self._with_load_retry(
                client,
                name,
                lambda: client.query(name, filter="", output_fields=["count(*)"], timeout=self.timeout),
            )
        return int(rows[0]["count(*)"])

    # --- dropping ---------------------------------------------------------------------------

    def drop_collection(self, version: int, *, force: bool = False) -> None:
        """Drop one version (idempotent); the live one only with force=True, which drops the alias too."""
        name = self.collection_name(version)
        with self._calling(f"drop {name}") as client:
            if not client.has_collection(name, timeout=self.timeout):
                return
            if self._live_name(client) == name:
                if not force:
                    raise LiveCollectionError(f"{name} is live behind alias {self.alias}; pass force=True")
                client.drop_alias(self.alias, timeout=self.timeout)
            client.drop_collection(name, timeout=self.timeout)

    def drop_all(self) -> None:
        """Drop the alias and every collection named with this store's prefix (idempotent)."""
        with self._calling("drop all vector collections") as client:
            if self._live_name(client) is not None:
                client.drop_alias(self.alias, timeout=self.timeout)
            for name in client.list_collections(timeout=self.timeout):
                if self._version_of(name) is not None:
                    client.drop_collection(name, timeout=self.timeout)


def _closed_channel(exc: BaseException) -> bool:
    """grpc's ValueError for a call on a channel another thread closed (it dropped the client meanwhile)."""
    return isinstance(exc, ValueError) and "closed channel" in str(exc)

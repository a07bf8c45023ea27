"""VectorStore: versioned movie-vector collections in Milvus (Lite or server) behind one serving alias."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable, Sequence

import numpy as np

from recommender import milvus_defaults as defaults

from .connection import (
    INDEX_ALREADY_EXISTS_CODE,
    NOT_LOADED_CODE,
    LiveCollectionError,
    MilvusConnection,
    VectorStoreError,
)
from .filters import ML1M_GENRES, as_movie_id, as_movie_ids, build_filter
from .pymilvus_env import pymilvus_import
from .schema import INDEX_TYPES, INSERT_BATCH, iter_row_batches, make_index_params, make_schema, search_params

logger = logging.getLogger(__name__)

MAX_TOP_K = 16384  # Milvus's topk ceiling
# Reads see this client's own writes (what the indexing process and the tests need) without waiting for every
# node's time tick, as "Strong" would on a Milvus server (~200 ms a search); other processes read after the
# collection is flushed, indexed and loaded, and only then pointed at by the alias. Lite has one node: all equal.
CONSISTENCY = "Session"


class VectorStore(MilvusConnection):
    """All Milvus access for movie vectors: versioned collections, the serving alias, searches (the client, its
    locking and the circuit breaker: connection.py)."""

    def __init__(
        self,
        uri: str,
        *,
        token: str = "",
        alias: str = defaults.ALIAS,
        prefix: str = defaults.COLLECTION_PREFIX,
        timeout: float = defaults.TIMEOUT,
        index_type: str = defaults.INDEX_TYPE,
        metric: str = "COSINE",
        build_timeout: float = 900.0,
        breaker_failures: int = defaults.BREAKER_FAILURES,
        breaker_seconds: float = defaults.BREAKER_SECONDS,
        search_ef: int = defaults.SEARCH_EF,
        request_timeout: float | None = None,
    ) -> None:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", prefix) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", alias):
            raise ValueError("alias and prefix must be Milvus identifiers (letters, digits, underscore)")
        if index_type not in INDEX_TYPES:
            raise ValueError(f"index_type must be HNSW, IVF_FLAT or FLAT, got {index_type!r}")
        # the deadline of the calls a request makes (connect, which version is live, search, count): shorter in a
        # web server's process (MILVUS_WEB_TIMEOUT); writes, loads and the catalogue's vectors keep `timeout`
        short = min(float(timeout), float(request_timeout)) if request_timeout else float(timeout)
        super().__init__(
            uri, token=token, timeout=short, breaker_failures=breaker_failures, breaker_seconds=breaker_seconds
        )
        self.admin_timeout = float(timeout)  # never shorter than `short`
        self.alias, self.prefix, self.index_type, self.metric = alias, prefix, index_type, metric
        self.search_ef = max(int(search_ef), 0)  # HNSW ef floor (schema.search_params); 0 = by limit only
        self.build_timeout = max(float(build_timeout), self.admin_timeout)  # index builds outlast a search deadline
        self.known_genres: set[str] = set(ML1M_GENRES)  # for callers without a catalogue list (filters.py)

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
            client.load_collection(name, timeout=self.admin_timeout)

    def _load_live(self, client) -> None:
        name = self._live_name(client)
        if name is not None:
            self._load(client, name)

    def _with_load_retry(self, client, name: str, call):
        """Run call(); if the collection was released (restart, other process) load it once and retry."""
        pymilvus_import()
        from pymilvus.exceptions import MilvusException

        try:
            return call()
        except MilvusException as exc:
            if exc.code != NOT_LOADED_CODE:
                raise
            target = name
            if name == self.alias:
                target = client.describe_alias(name, timeout=self.admin_timeout)["collection_name"]
            client.load_collection(target, timeout=self.admin_timeout)
            return call()

    # --- writing ----------------------------------------------------------------------------

    def _wait_for_index(self, client, name: str) -> None:
        deadline, pause = time.monotonic() + self.build_timeout, 0.01
        while True:
            info = client.describe_index(name, "vector", timeout=self.admin_timeout)
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
                client.drop_alias(self.alias, timeout=self.admin_timeout)
            if client.has_collection(name, timeout=self.admin_timeout):
                client.drop_collection(name, timeout=self.admin_timeout)
            client.create_collection(
                name, schema=make_schema(client, dim), consistency_level=CONSISTENCY, timeout=self.admin_timeout
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
            if not client.has_collection(name, timeout=self.admin_timeout):
                raise VectorStoreError(f"collection {name} does not exist; build it first")
            for batch in batches:
                client.upsert(name, batch, timeout=self.build_timeout)
            client.flush(name, timeout=self.build_timeout)
        return sum(map(len, batches))

    # --- alias ------------------------------------------------------------------------------

    def _point_alias(self, client, name: str) -> None:
        if self._live_name(client) is None:
            client.create_alias(name, self.alias, timeout=self.admin_timeout)
        else:
            client.alter_alias(name, self.alias, timeout=self.admin_timeout)  # one atomic re-point, no gap

    def switch_alias(self, version: int) -> None:
        """Point the alias at a complete, loaded collection in one alter (create the first time)."""
        name = self.collection_name(version)
        with self._calling(f"switch alias {self.alias} to {name}") as client:
            if not client.has_collection(name, timeout=self.admin_timeout):
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
                        name, ids=chunk, output_fields=["movie_id", "vector"], timeout=self.admin_timeout
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
            if not client.has_collection(name, timeout=self.admin_timeout):
                return
            if self._live_name(client) == name:
                if not force:
                    raise LiveCollectionError(f"{name} is live behind alias {self.alias}; pass force=True")
                client.drop_alias(self.alias, timeout=self.admin_timeout)
            client.drop_collection(name, timeout=self.admin_timeout)

    def drop_all(self) -> None:
        """Drop the alias and every collection named with this store's prefix (idempotent)."""
        with self._calling("drop all vector collections") as client:
            if self._live_name(client) is not None:
                client.drop_alias(self.alias, timeout=self.admin_timeout)
            for name in client.list_collections(timeout=self.admin_timeout):
                if self._version_of(name) is not None:
                    client.drop_collection(name, timeout=self.admin_timeout)

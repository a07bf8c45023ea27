"""Fixtures: small random catalogues and VectorStores on Milvus Lite folders under tmp_path, or, when MILVUS_URI
names a Milvus server (http://...; .ci/run's Milvus step), on that server under names unique to the test."""

import os
import uuid
from dataclasses import dataclass

import numpy as np
import pytest

from recommender.vectorstore import VectorStore

GENRE_CYCLE = [["Drama"], ["Comedy", "Children's"], ["Action", "Sci-Fi"], ["Drama", "Romance"], ["Film-Noir"]]


@dataclass
class Catalogue:
    ids: np.ndarray
    vectors: np.ndarray
    genres: list[list[str]]
    years: np.ndarray

    def top(self, query: np.ndarray, k: int, keep: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The exact answer by numpy dot products (vectors are unit length, so dot = cosine)."""
        scores = self.vectors @ query
        if keep is not None:
            scores = np.where(keep, scores, -np.inf)
        order = np.argsort(-scores)[:k]
        return [(int(self.ids[i]), float(scores[i])) for i in order if np.isfinite(scores[i])]


def make_catalogue(n: int = 200, dim: int = 16, first_id: int = 1, seed: int = 0) -> Catalogue:
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    genres = [list(GENRE_CYCLE[i % len(GENRE_CYCLE)]) for i in range(n)]
    return Catalogue(np.arange(first_id, first_id + n), vectors, genres, 1950 + np.arange(n) % 50)


def unit(vector: np.ndarray) -> np.ndarray:
    return (vector / np.linalg.norm(vector)).astype(np.float32)


@pytest.fixture
def catalogue() -> Catalogue:
    return make_catalogue()


SERVER_URI = os.environ.get("MILVUS_URI", "") if os.environ.get("MILVUS_URI", "").startswith("http") else ""
lite_only = pytest.mark.skipif(bool(SERVER_URI), reason="about Milvus Lite's own folder and embedded server")


@pytest.fixture
def store(tmp_path):
    if SERVER_URI:
        tag = f"t{uuid.uuid4().hex[:10]}"
        vector_store = VectorStore(SERVER_URI, alias=f"{tag}_live", prefix=f"{tag}_v", timeout=10)
    else:
        vector_store = VectorStore(str(tmp_path / "milvus.db"), timeout=5)
    yield vector_store
    if SERVER_URI:
        vector_store.drop_all()
    vector_store.close()


@pytest.fixture
def live_store(store, catalogue):
    """A store whose alias serves version 1 built from `catalogue`."""
    store.build_collection(1, catalogue.ids, catalogue.vectors, catalogue.genres, catalogue.years)
    store.switch_alias(1)
    return store

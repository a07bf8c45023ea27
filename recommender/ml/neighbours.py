"""Item-to-item neighbours from co-ratings, and the blend with vector neighbours that "similar movies" serves.

Co-ratings (people who rated X also rated Y, cosine over the users' binary rating vectors, as Amazon's
item-to-item and ItemKNN do) give the neighbours a person finds obvious (The Empire Strikes Back for Star Wars);
the movie vectors give neighbours to movies with few or no ratings. The two ranked lists are merged by
reciprocal-rank fusion, which needs no common score scale.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from recommender.ml.baselines import ITEM_ITEM_MAX_MOVIES, gram_blocks, most_rated, top_k_rows, user_item_matrix
from recommender.ml.data import Catalog, Interactions, lookup

RRF_K = 60  # reciprocal-rank fusion constant (Cormack et al. 2009): 1 / (RRF_K + rank)
FILE = "neighbours.npz"


@dataclass
class ItemNeighbours:
    """For movie_ids[i]: its co-rated neighbours' movie ids, best first (-1 = none), and their cosines."""

    movie_ids: np.ndarray  # int64 [M]
    neighbours: np.ndarray  # int64 [M, k] movie ids
    scores: np.ndarray  # float32 [M, k]

    @classmethod
    def fit(cls, interactions: Interactions, catalog: Catalog, k: int = 50, min_common: int = 2) -> ItemNeighbours:
        """Top-k cosine neighbours per movie; pairs rated together by fewer than ``min_common`` users are dropped.
        Above ITEM_ITEM_MAX_MOVIES movies, among the most-rated ones (the others: vector neighbours only)."""
        x, _ = user_item_matrix(interactions, catalog)  # [U, M] binary
        m = len(catalog)
        top = np.full((m, k), -1, dtype=np.int64)
        sims = np.zeros((m, k), dtype=np.float32)
        columns = most_rated(x, ITEM_ITEM_MAX_MOVIES)  # a large catalogue: among its most-rated movies only
        rows_of = np.arange(m) if columns is None else columns  # catalogue row of each column of x below
        x = x if columns is None else x[:, columns]
        norms = np.sqrt(np.asarray(x.sum(axis=0)).ravel()) + 1e-9  # [M]: sqrt(diag XᵀX), the users per movie
        for start, block in gram_blocks(x):  # a block of movies at a time: [M, M] would not fit a large catalogue
            counts = block.toarray()  # [b, M] dense
            b = counts.shape[0]
            valid = counts >= min_common
            valid[np.arange(b), start + np.arange(b)] = False
            cos = counts / (norms[start : start + b, None] * norms[None, :])
            r, c, rank = top_k_rows(cos, valid, k)  # best first; ties: the lower catalogue row first
            top[rows_of[start + r], rank] = catalog.movie_ids[rows_of[c]]
            sims[rows_of[start + r], rank] = cos[r, c]
        return cls(catalog.movie_ids.astype(np.int64), top, sims)

    def of(self, movie_id: int) -> list[tuple[int, float]]:
        """(movie id, cosine) best first; empty for a movie without co-ratings or not in the table."""
        row = lookup(self.movie_ids, [movie_id])[0]
        if row < 0:
            return []
        return [(int(n), float(s)) for n, s in zip(self.neighbours[row], self.scores[row], strict=True) if n >= 0]

    def save(self, directory: str | Path) -> None:
        with open(Path(directory) / FILE, "wb") as f:
            np.savez(f, movie_ids=self.movie_ids, neighbours=self.neighbours, scores=self.scores)

    @classmethod
    def load(cls, directory: str | Path) -> ItemNeighbours | None:
        """The saved table, or None when the model directory has none (older versions)."""
        path = Path(directory) / FILE
        if not path.exists():
            return None
        with np.load(path, allow_pickle=False) as z:
            return cls(z["movie_ids"], z["neighbours"], z["scores"])


def blend(co_rated: list[tuple[int, float]], by_vector: list[tuple[int, float]], k: int) -> list[tuple[int, float]]:
    """Reciprocal-rank fusion of two ranked (movie id, score) lists: score = Σ 1 / (RRF_K + rank), best first."""
    fused: dict[int, float] = {}
    for ranked in (co_rated, by_vector):
        for rank, (movie_id, _) in enumerate(ranked, start=1):
            fused[movie_id] = fused.get(movie_id, 0.0) + 1.0 / (RRF_K + rank)
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))[:k]

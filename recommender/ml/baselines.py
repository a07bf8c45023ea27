"""Reference recommenders evaluated side by side with the model: MostPop, ItemKNN, EASE, ALS."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recommender.ml.data import Catalog, Interactions, lookup
from recommender.ml.evaluate import catalog_index, evaluate_scores
from recommender.ml.split import Split


def user_item_matrix(interactions: Interactions, catalog: Catalog) -> tuple[sp.csr_matrix, np.ndarray]:
    """Binary user × catalogue matrix X [U, M] (float32) and the user id of each row."""
    cols = catalog_index(catalog, interactions.movie_ids)
    keep = cols >= 0
    user_ids, rows = np.unique(interactions.user_ids[keep], return_inverse=True)
    data = np.ones(int(keep.sum()), dtype=np.float32)
    x = sp.csr_matrix((data, (rows, cols[keep])), shape=(len(user_ids), len(catalog)), dtype=np.float32)
    x.data[:] = 1.0  # duplicates collapse to one
    return x, user_ids


class MostPop:
    """score(u, i) = number of users who rated i."""

    def fit(self, x: sp.csr_matrix) -> MostPop:
        self.popularity = np.asarray(x.sum(axis=0)).ravel()  # [M]
        return self

    def score(self, rows: np.ndarray, x: sp.csr_matrix) -> np.ndarray:
        return np.tile(self.popularity, (len(rows), 1))


class ItemKNN:
    """score(u, i) = Σ_{j ∈ items(u)} cos(i, j), cosine over the users' binary rating vectors, neighbours kept top-k."""

    def __init__(self, neighbours: int = 200):
        self.neighbours = neighbours

    def fit(self, x: sp.csr_matrix) -> ItemKNN:
        norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=0)).ravel()) + 1e-9  # [M]
        sim = (x.T @ x).toarray() / norms[:, None] / norms[None, :]  # [M, M]
        np.fill_diagonal(sim, 0.0)
        if self.neighbours < sim.shape[0]:
            cutoff = -np.partition(-sim, self.neighbours - 1, axis=0)[self.neighbours - 1]  # [M] k-th best per column
            sim[sim < cutoff[None, :]] = 0.0
        self.sim = sim.astype(np.float32)
        return self

    def score(self, rows: np.ndarray, x: sp.csr_matrix) -> np.ndarray:
        return x[rows] @ self.sim


class EASE:
    """Steck 2019: B = argmin ||X − XB||² + λ||B||² with diag(B) = 0.

    Closed form: P = (XᵀX + λI)⁻¹, B = I − P·diagMat(1/diag(P)); score = X_u B.
    """

    def __init__(self, l2: float = 250.0):
        self.l2 = l2

    def fit(self, x: sp.csr_matrix) -> EASE:
        gram = (x.T @ x).toarray().astype(np.float64)  # [M, M]
        gram[np.diag_indices_from(gram)] += self.l2
        p = np.linalg.inv(gram)
        b = -p / np.diag(p)[None, :]
        np.fill_diagonal(b, 0.0)
        self.b = b.astype(np.float32)
        return self

    def score(self, rows: np.ndarray, x: sp.csr_matrix) -> np.ndarray:
        return x[rows] @ self.b


class ALS:
    """Implicit-feedback matrix factorisation (Hu et al. 2008) from the `implicit` library; score = uᵀv.

    Defaults (also ItemKNN k=200, EASE λ=250) are the best of a small grid on ML-100K (docs/benchmarks.md).
    """

    def __init__(self, factors: int = 32, regularization: float = 0.5, alpha: float = 1.0, iterations: int = 15):
        from implicit.cpu.als import AlternatingLeastSquares

        self.model = AlternatingLeastSquares(
            factors=factors, regularization=regularization, alpha=alpha, iterations=iterations, random_state=0
        )

    def fit(self, x: sp.csr_matrix) -> ALS:
        self.model.fit(x, show_progress=False)
        return self

    def score(self, rows: np.ndarray, x: sp.csr_matrix) -> np.ndarray:
        return self.model.user_factors[rows] @ self.model.item_factors.T


BASELINES = {"MostPop": MostPop, "ItemKNN": ItemKNN, "EASE": EASE, "ALS": ALS}


def evaluate_baselines(split: Split, catalog: Catalog, names=("MostPop", "ItemKNN", "EASE", "ALS"), ks=(10, 20, 50)):
    """Fit each named baseline on split.train and evaluate it under the protocol: {name: metrics}."""
    x, user_ids = user_item_matrix(split.train, catalog)
    results = {}
    for name in names:
        model = BASELINES[name]().fit(x)

        def score_fn(ids: np.ndarray, model=model) -> np.ndarray:
            rows = lookup(user_ids, ids)
            scores = np.zeros((len(ids), len(catalog)), dtype=np.float32)
            known = rows >= 0
            if known.any():
                scores[known] = np.asarray(model.score(rows[known], x))
            return scores

        results[name] = evaluate_scores(score_fn, split, catalog, ks)
    return results

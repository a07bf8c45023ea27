"""Reference recommenders evaluated side by side with the model: MostPop, ItemKNN, EASE, ALS."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.linalg import lapack

from recommender.ml.data import Catalog, Interactions, lookup
from recommender.ml.evaluate import catalog_index, evaluate_scores
from recommender.ml.split import Split

EASE_MAX_MOVIES = 10_000  # EASE inverts a dense [M, M] float64 Gram matrix: 0.8 GB at 10k movies, 31 GB at 62k;
# above this it is fitted on the most-rated movies only (the rest score below every one of them)
BLOCK_CELLS = 1 << 24  # dense cells of one block of co-rating counts (float32: 64 MB)
UNSCORED = float(np.finfo(np.float32).min)  # a movie a restricted baseline does not score: below any score, above
# the -inf of the user's own movies


def gram_blocks(x: sp.csr_matrix, cells: int | None = None):
    """Yield (first movie, co-rating counts [rows, M] as CSR with sorted indices) for consecutive rows of XᵀX, a few
    movies at a time: the whole matrix is never held (62k movies: up to 15 GB)."""
    xt = x.T.tocsr()  # [M, U]
    m = x.shape[1]
    step = max(1, (cells or BLOCK_CELLS) // max(m, 1))
    for start in range(0, m, step):
        block = (xt[start : start + step] @ x).tocsr()
        block.sort_indices()
        yield start, block


def row_of_entry(block: sp.csr_matrix) -> np.ndarray:
    """The row of each entry of block.data / block.indices."""
    return np.repeat(np.arange(block.shape[0]), np.diff(block.indptr))


def rank_in_row(rows: np.ndarray, values: np.ndarray, columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(order, rank): entries sorted by row, then value (largest first), then column (lowest first), and each
    sorted entry's 0-based rank inside its row. Vectorised: a per-row loop costs ~0.1 ms a row, 6 s at 62k movies."""
    order = np.lexsort((columns, -values, rows))
    sorted_rows = rows[order]
    return order, np.arange(len(order)) - np.searchsorted(sorted_rows, sorted_rows, side="left")


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
        """Sparse top-k similarity [M, M] (column j: j's neighbours), built from XᵀX a block of movies at a time."""
        norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=0)).ravel()) + 1e-9  # [M]
        parts = []
        for start, sim in gram_blocks(x):  # rows = columns of the symmetric similarity
            rows = row_of_entry(sim)
            sim.data = sim.data / norms[sim.indices] / norms[start + rows]  # = sim[:, block].T of the dense form
            sim.data[sim.indices == start + rows] = 0.0
            order, rank = rank_in_row(rows, sim.data, sim.indices)
            kth = order[rank == self.neighbours - 1]  # the k-th best entry of each row that has k entries or more
            cutoff = np.full(sim.shape[0], -np.inf, dtype=sim.data.dtype)
            cutoff[rows[kth]] = sim.data[kth]
            sim.data[sim.data < cutoff[rows]] = 0.0  # each column keeps its k best (ties at the k-th all kept)
            sim.eliminate_zeros()
            parts.append(sim.astype(np.float32))
        self.sim = sp.vstack(parts).T.tocsr() if parts else sp.csr_matrix(x.shape[1:] * 2, dtype=np.float32)
        return self

    def score(self, rows: np.ndarray, x: sp.csr_matrix) -> np.ndarray:
        return (x[rows] @ self.sim).toarray()


class EASE:
    """Steck 2019: B = argmin ||X − XB||² + λ||B||² with diag(B) = 0.

    Closed form: P = (XᵀX + λI)⁻¹, B = I − P·diagMat(1/diag(P)); score = X_u B.
    """

    def __init__(self, l2: float = 250.0, max_movies: int | None = None):
        self.l2, self.max_movies = l2, max_movies or EASE_MAX_MOVIES

    def fit(self, x: sp.csr_matrix) -> EASE:
        """Closed form over every movie, or over the ``max_movies`` most-rated ones (``self.columns``) above that."""
        m = x.shape[1]
        self.columns = None
        if m > self.max_movies:
            counts = np.asarray(x.sum(axis=0)).ravel()
            self.columns = np.sort(np.argsort(-counts, kind="stable")[: self.max_movies])
            x = x[:, self.columns]
        gram = (x.T @ x).toarray().astype(np.float64)  # [M, M]
        gram[np.diag_indices_from(gram)] += self.l2
        p = spd_inverse(gram)
        p /= -np.diag(p).copy()[None, :]  # B = -P / diag(P) column-wise, in place (the copy: P's diagonal changes)
        np.fill_diagonal(p, 0.0)
        self.b = p.astype(np.float32)
        self.movies = m
        return self

    def score(self, rows: np.ndarray, x: sp.csr_matrix) -> np.ndarray:
        if self.columns is None:
            return x[rows] @ self.b
        out = np.full((len(rows), self.movies), UNSCORED, dtype=np.float32)
        out[:, self.columns] = x[rows][:, self.columns] @ self.b
        return out


def spd_inverse(matrix: np.ndarray) -> np.ndarray:
    """The inverse of a symmetric positive definite matrix through its Cholesky factor (LAPACK potrf + potri: n³
    flops against inv's 2n³), computed in the matrix's own memory."""
    factor, info = lapack.dpotrf(matrix, lower=False, overwrite_a=True, clean=False)
    if info == 0:
        inverse, info = lapack.dpotri(factor, lower=False, overwrite_c=True)
    if info != 0:
        raise np.linalg.LinAlgError(f"the Gram matrix is not positive definite (LAPACK info {info})")
    lower = np.tril_indices_from(inverse, -1)
    inverse[lower] = inverse.T[lower]  # potri fills the upper triangle
    return inverse


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
    """Fit each named baseline on split.train and evaluate it under the protocol: {name: metrics}. A baseline fitted
    on part of the catalogue (EASE above EASE_MAX_MOVIES) says so: metrics["scored_movies"] = how many it scored."""
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
        columns = getattr(model, "columns", None)
        if columns is not None:
            results[name]["scored_movies"] = len(columns)
        del model
    return results

"""Reference recommenders evaluated side by side with the model: MostPop, ItemKNN, EASE, ALS."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.linalg import lapack
from threadpoolctl import threadpool_limits

from recommender.ml.data import Catalog, Interactions, lookup
from recommender.ml.evaluate import catalog_index, evaluate_scores
from recommender.ml.split import Split

ITEM_ITEM_MAX_MOVIES = 10_000  # item-item methods (ItemKNN, EASE, co-rating neighbours) run on this many most-rated
# movies at most: EASE inverts a dense [M, M] Gram matrix (0.8 GB at 10k movies, 31 GB at 62k) and co-ratings fill
# most of [M, M] (1M synthetic ratings over 62k movies: 742M co-rated pairs). Every catalogue of today's small releases
# (ML-100K, ML-1M, ml-latest-small) is within it; above it the other movies get no item-item score (EASE: below)
EASE_MAX_MOVIES = 5_000  # EASE's closed form costs movies³ (a dense Cholesky inverse) and its scoring movies² a user:
# above this many movies it runs on the most-rated ones, the rest unscored (ML-100K, ML-1M: every movie). Its cost and
# quality at 5,000-10,000 movies: docs/benchmarks.md, "Catalogue size".
BLOCK_CELLS = 1 << 24  # dense cells of one block of co-rating counts (float32: 64 MB)
UNSCORED = float(np.finfo(np.float32).min)  # a movie a restricted baseline does not score: below any score, above
# the -inf of the user's own movies


def most_rated(x: sp.csr_matrix, limit: int) -> np.ndarray | None:
    """Columns of the ``limit`` most-rated movies (sorted), or None when the catalogue is within the limit."""
    if x.shape[1] <= limit:
        return None
    counts = np.asarray(x.sum(axis=0)).ravel()
    return np.sort(np.argsort(-counts, kind="stable")[:limit])


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


def top_k_rows(values: np.ndarray, valid: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, column, rank) of each row's ``k`` largest valid entries of a dense block, best first, ties by the lower
    column: one partition per block finds each row's k-th value, then only the entries at or above it are sorted."""
    masked = np.where(valid, values, -np.inf)
    if masked.shape[1] > k:
        kth = -np.partition(-masked, k - 1, axis=1)[:, k - 1]  # -inf where a row has fewer than k valid entries
        valid = valid & (masked >= kth[:, None])
    rows, cols = np.nonzero(valid)
    order = np.lexsort((cols, -masked[rows, cols], rows))
    sorted_rows = rows[order]
    rank = np.arange(len(order)) - np.searchsorted(sorted_rows, sorted_rows, side="left")
    best = order[rank < k]
    return rows[best], cols[best], rank[rank < k]


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

    columns = None  # scores every movie

    def fit(self, x: sp.csr_matrix) -> MostPop:
        self.popularity = np.asarray(x.sum(axis=0)).ravel()  # [M]
        return self

    def score(self, rows: np.ndarray, x: sp.csr_matrix) -> np.ndarray:
        return np.tile(self.popularity, (len(rows), 1))

    def ranked_columns(self, count: int) -> np.ndarray | None:
        """The ``count`` most popular movies (sorted; ties by the lower row), or None when that is every movie: a
        user's top k is among them whenever they rated at most count - k of them, so ranking them is enough."""
        if count >= len(self.popularity):
            return None
        return np.sort(np.argsort(-self.popularity, kind="stable")[:count])

    def score_columns(self, rows: np.ndarray, x: sp.csr_matrix, columns: np.ndarray) -> np.ndarray:
        return np.tile(self.popularity[columns], (len(rows), 1))


class ItemKNN:
    """score(u, i) = Σ_{j ∈ items(u)} cos(i, j), cosine over the users' binary rating vectors, neighbours kept top-k;
    above ITEM_ITEM_MAX_MOVIES movies over the most-rated ones (``self.columns``), the rest unscored."""

    def __init__(self, neighbours: int = 200):
        self.neighbours = neighbours

    def fit(self, x: sp.csr_matrix) -> ItemKNN:
        """Sparse top-k similarity [M, M] (column j: j's neighbours), built from XᵀX a block of movies at a time."""
        self.columns, self.movies = most_rated(x, ITEM_ITEM_MAX_MOVIES), x.shape[1]
        x = x if self.columns is None else x[:, self.columns]
        m, k = x.shape[1], self.neighbours
        norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=0)).ravel()) + 1e-9  # [M]
        parts = []
        for start, block in gram_blocks(x):  # rows = columns of the symmetric similarity
            sim = block.toarray()  # [b, M] dense: a row is a movie's co-ratings with every movie
            b = sim.shape[0]
            sim /= norms[None, :]
            sim /= norms[start : start + b, None]
            sim[np.arange(b), start + np.arange(b)] = 0.0
            if m > k:  # each column keeps its k best (ties at the k-th all kept)
                kth = np.partition(sim, m - k, axis=1)[:, m - k]
                sim[sim < kth[:, None]] = 0.0
            parts.append(sp.csr_matrix(sim, dtype=np.float32))
        self.sim = sp.vstack(parts).T.tocsr() if parts else sp.csr_matrix((m, m), dtype=np.float32)
        return self

    def score(self, rows: np.ndarray, x: sp.csr_matrix) -> np.ndarray:
        if self.columns is None:
            return (x[rows] @ self.sim).toarray()
        out = np.full((len(rows), self.movies), UNSCORED, dtype=np.float32)
        out[:, self.columns] = self.score_columns(rows, x, self.columns)
        return out

    def ranked_columns(self, count: int) -> np.ndarray | None:
        """The columns a ranking reads (``self.columns``, what it was fitted on; None: every movie)."""
        return self.columns

    def score_columns(self, rows: np.ndarray, x: sp.csr_matrix, columns: np.ndarray) -> np.ndarray:
        """Scores of ``self.columns`` only [len(rows), len(columns)] (what a restricted ranking reads)."""
        return (x[rows][:, columns] @ self.sim).toarray()


class EASE:
    """Steck 2019: B = argmin ||X − XB||² + λ||B||² with diag(B) = 0.

    Closed form: P = (XᵀX + λI)⁻¹, B = I − P·diagMat(1/diag(P)); score = X_u B.
    """

    def __init__(self, l2: float = 250.0, max_movies: int | None = None):
        self.l2, self.max_movies = l2, max_movies or EASE_MAX_MOVIES

    def fit(self, x: sp.csr_matrix) -> EASE:
        """Closed form over every movie, or over the ``max_movies`` most-rated ones (``self.columns``) above that."""
        m = x.shape[1]
        self.columns = most_rated(x, self.max_movies)
        if self.columns is not None:
            x = x[:, self.columns]
        gram = (x.T @ x).toarray().astype(np.float32)  # [M, M]; counts are exact in float32 below 2**24
        gram[np.diag_indices_from(gram)] += self.l2
        p = spd_inverse(gram)  # float32: the same ML-100K figures as float64 to five decimals, at half the time
        p /= -np.diag(p).copy()[None, :]  # B = -P / diag(P) column-wise, in place (the copy: P's diagonal changes)
        np.fill_diagonal(p, 0.0)
        self.b = p.astype(np.float32, copy=False)
        self.movies = m
        return self

    def score(self, rows: np.ndarray, x: sp.csr_matrix) -> np.ndarray:
        if self.columns is None:
            return x[rows] @ self.b
        out = np.full((len(rows), self.movies), UNSCORED, dtype=np.float32)
        out[:, self.columns] = self.score_columns(rows, x, self.columns)
        return out

    def ranked_columns(self, count: int) -> np.ndarray | None:
        """The columns a ranking reads (``self.columns``, what it was fitted on; None: every movie)."""
        return self.columns

    def score_columns(self, rows: np.ndarray, x: sp.csr_matrix, columns: np.ndarray) -> np.ndarray:
        """Scores of ``self.columns`` only [len(rows), len(columns)] (what a restricted ranking reads)."""
        return x[rows][:, columns] @ self.b


def spd_inverse(matrix: np.ndarray, rows: int = 1024) -> np.ndarray:
    """The inverse of a symmetric positive definite matrix through its Cholesky factor (LAPACK potrf + potri: n³
    flops against inv's 2n³), in the matrix's own memory: a C-ordered symmetric matrix is its own Fortran-ordered
    transpose, which LAPACK overwrites without a copy. Its lower triangle is mirrored ``rows`` rows at a time."""
    potrf, potri = lapack.get_lapack_funcs(("potrf", "potri"), (matrix,))  # s- or d-, as the matrix's dtype
    factor, info = potrf(matrix.T, lower=False, overwrite_a=True, clean=False)
    if info == 0:
        inverse, info = potri(factor, lower=False, overwrite_c=True)
    if info != 0:
        raise np.linalg.LinAlgError(f"the Gram matrix is not positive definite (LAPACK info {info})")
    n = inverse.shape[0]
    for start in range(0, n, rows):  # potri fills the upper triangle
        stop = min(start + rows, n)
        below = np.tri(stop - start, stop, k=start - 1, dtype=bool)  # [i, j] with j < start + i
        inverse[start:stop, :stop][below] = inverse[:stop, start:stop].T[below]
    return inverse


class ALS:
    """Implicit-feedback matrix factorisation (Hu et al. 2008) from the `implicit` library; score = uᵀv.

    Defaults (also ItemKNN k=200, EASE λ=250) are the best of a small grid on ML-100K (docs/benchmarks.md).
    """

    def __init__(self, factors: int = 32, regularization: float = 0.5, alpha: float = 1.0, iterations: int = 15):
        from implicit.cpu.als import AlternatingLeastSquares

        with threadpool_limits(1, "blas"):  # as fit() runs: its check of the BLAS threads then has nothing to say
            self.model = AlternatingLeastSquares(
                factors=factors, regularization=regularization, alpha=alpha, iterations=iterations, random_state=0
            )

    columns = None  # scores every movie

    def fit(self, x: sp.csr_matrix) -> ALS:
        with threadpool_limits(1, "blas"):  # implicit runs its own threads: a BLAS pool inside them costs ~3x the CPU
            self.model.fit(x, show_progress=False)
        return self

    def score(self, rows: np.ndarray, x: sp.csr_matrix) -> np.ndarray:
        return self.model.user_factors[rows] @ self.model.item_factors.T

    def ranked_columns(self, count: int) -> None:
        """Every movie: a ranking reads the dense scores."""
        return None


BASELINES = {"MostPop": MostPop, "ItemKNN": ItemKNN, "EASE": EASE, "ALS": ALS}


def evaluate_baselines(split: Split, catalog: Catalog, names=("MostPop", "ItemKNN", "EASE", "ALS"), ks=(10, 20, 50)):
    """Fit each named baseline on split.train and evaluate it under the protocol: {name: metrics}. A baseline fitted
    on part of the catalogue (ItemKNN, EASE above ITEM_ITEM_MAX_MOVIES) says so: metrics["scored_movies"].

    A baseline that scores part of the catalogue is ranked over those movies only, the others below them
    (evaluate_scores' columns): never a dense [users, catalogue] block of mostly UNSCORED; MostPop is ranked over
    its most popular movies, enough for every user's top k."""
    x, user_ids = user_item_matrix(split.train, catalog)
    most_seen = int(x.getnnz(axis=1).max(initial=0))
    results = {}
    for name in names:
        model = BASELINES[name]().fit(x)
        columns = model.columns
        ranked = model.ranked_columns(min(max(ks), len(catalog)) + most_seen)
        width = len(catalog) if ranked is None else len(ranked)

        def score_fn(ids: np.ndarray, model=model, ranked=ranked, width=width) -> np.ndarray:
            rows = lookup(user_ids, ids)
            scores = np.zeros((len(ids), width), dtype=np.float32)
            known = rows >= 0
            if known.any():
                if ranked is None:
                    scores[known] = np.asarray(model.score(rows[known], x))
                else:
                    scores[known] = np.asarray(model.score_columns(rows[known], x, ranked))
            return scores

        results[name] = evaluate_scores(score_fn, split, catalog, ks, columns=ranked)
        if columns is not None:
            results[name]["scored_movies"] = len(columns)
        del model
    return results

"""The evaluation protocol (DESIGN.md §5): full ranking over the catalogue, each user's train movies excluded."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from recommender.ml import metrics
from recommender.ml.data import Catalog, Dataset, Interactions, lookup
from recommender.ml.encoder import user_histories
from recommender.ml.split import Split

ScoreFn = Callable[[np.ndarray], np.ndarray]  # user ids int64 [B] -> scores float [B, M] in catalogue order
POSITIVE_RATING = 4.0  # relevance "rating >= 4": 4.0, 4.5 and 5.0 with half stars
SCORE_CELLS = 1 << 24  # users x movies scored at once: [users, M] float64 copies stay ~128 MB at any catalogue size
USER_BATCH = 512  # users scored at once at most


def catalog_index(catalog: Catalog, movie_ids: np.ndarray) -> np.ndarray:
    """Row in the catalogue of each movie id, -1 where the id is not in the catalogue."""
    return lookup(catalog.movie_ids, movie_ids)


def user_batch(movies: int, cells: int = SCORE_CELLS) -> int:
    """Users scored at once so that a [users, movies] block stays within ``cells`` (at most USER_BATCH)."""
    return max(1, min(USER_BATCH, cells // max(movies, 1)))


def top_k_ranking(
    score_fn: ScoreFn, user_ids: np.ndarray, seen: dict[int, np.ndarray], k: int, batch: int = USER_BATCH
) -> np.ndarray:
    """Top-k catalogue rows per user [U, k], best first, with the user's ``seen`` rows masked out; ``batch`` users
    are scored at a time (user_batch() of the catalogue keeps that block's memory bounded)."""
    out = np.empty((len(user_ids), k), dtype=np.int64)
    for start in range(0, len(user_ids), batch):
        ids = user_ids[start : start + batch]
        scores = np.array(score_fn(ids))  # [B, M], our own copy; float32 scores stay float32 (half the traffic)
        if not np.issubdtype(scores.dtype, np.floating):
            scores = scores.astype(np.float64)
        for row, uid in enumerate(ids):
            scores[row, seen.get(int(uid), [])] = -np.inf
        np.negative(scores, out=scores)  # in place: a [B, M] block is 64 MB at 62k movies
        top = np.argpartition(scores, k - 1, axis=1)[:, :k]  # [B, k] unordered
        order = np.argsort(np.take_along_axis(scores, top, axis=1), axis=1, kind="stable")
        out[start : start + len(ids)] = np.take_along_axis(top, order, axis=1)
    return out


def group_rows(interactions: Interactions, rows: np.ndarray) -> dict[int, np.ndarray]:
    """user id -> catalogue rows of that user's interactions (rows == -1 dropped)."""
    keep = rows >= 0
    users, items = interactions.user_ids[keep], rows[keep]
    order = np.argsort(users, kind="stable")
    users, items = users[order], items[order]
    uniq, starts = np.unique(users, return_index=True)
    return {int(u): a for u, a in zip(uniq, np.split(items, starts[1:]), strict=True)}


def _metric_block(top: np.ndarray, relevant: list[np.ndarray], ks, popularity, n_items, suffix: str) -> dict:
    hits = np.stack([np.isin(t, r) for t, r in zip(top, relevant, strict=True)])  # [U, Kmax]
    n_rel = np.array([len(r) for r in relevant])
    out: dict = {f"users{suffix}": len(relevant)}
    for k in ks:
        per_user = {
            "recall": metrics.recall_at_k(hits, n_rel, k),
            "ndcg": metrics.ndcg_at_k(hits, n_rel, k),
            "hit": metrics.hit_rate_at_k(hits, k),
            "precision": metrics.precision_at_k(hits, k),
        }
        for name, values in per_user.items():
            out[f"{name}@{k}{suffix}"] = float(values.mean())
            out[f"{name}@{k}{suffix}_se"] = metrics.standard_error(values)
        out[f"coverage@{k}{suffix}"] = metrics.coverage_at_k(top, n_items, k)
        out[f"mean_pop@{k}{suffix}"] = metrics.mean_popularity_at_k(top, popularity, k)
    return out


def evaluate_scores(
    score_fn: ScoreFn, split: Split, catalog: Catalog, ks=(10, 20, 50), batch: int | None = None
) -> dict:
    """Metrics of a scorer under the protocol; relevant = every held-out movie, and (suffix "_pos4") rating >= 4.

    ``mean_pop@K`` is the mean number of train ratings of the recommended movies; every metric has a
    ``_se`` twin (standard error across users) for the "beyond noise" comparisons. ``score_fn`` is called for
    ``batch`` users at a time (default: user_batch(len(catalog))).
    """
    train_rows = catalog_index(catalog, split.train.movie_ids)
    test_rows = catalog_index(catalog, split.test.movie_ids)
    seen = group_rows(split.train, train_rows)
    popularity = np.bincount(train_rows[train_rows >= 0], minlength=len(catalog)).astype(np.float64)
    held_out = group_rows(split.test, test_rows)
    positive = split.test.subset(split.test.scores >= POSITIVE_RATING)
    held_out_pos = group_rows(positive, test_rows[split.test.scores >= POSITIVE_RATING])
    user_ids = np.array(sorted(held_out), dtype=np.int64)
    if len(user_ids) == 0:
        return {"users": 0}
    batch = batch or user_batch(len(catalog))
    top = top_k_ranking(score_fn, user_ids, seen, min(max(ks), len(catalog)), batch)
    result = _metric_block(top, [held_out[int(u)] for u in user_ids], ks, popularity, len(catalog), "")
    pos_mask = np.array([int(u) in held_out_pos for u in user_ids])
    if pos_mask.any():
        relevant = [held_out_pos[int(u)] for u in user_ids[pos_mask]]
        result.update(_metric_block(top[pos_mask], relevant, ks, popularity, len(catalog), "_pos4"))
    return result


def evaluate_model(model, dataset: Dataset, split: Split, ks=(10, 20, 50), batch: int | None = None) -> dict:
    """A TwoTowerModel under the protocol: each user's vector is built from their split.train ratings; scores are
    [batch users, catalogue] blocks (evaluate_scores), never [every user, catalogue]."""
    user_ids = np.unique(split.test.user_ids)
    user_vecs = model.user_vectors(dataset.users.select(user_ids), user_histories(split.train, user_ids))  # [U, D]
    movie_vecs = model.movie_vectors(dataset.catalog)  # [M, D]
    return evaluate_scores(
        lambda ids: user_vecs[lookup(user_ids, ids)] @ movie_vecs.T, split, dataset.catalog, ks, batch
    )

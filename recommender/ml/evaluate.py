"""The evaluation protocol (DESIGN.md §5): full ranking over the catalogue, each user's train movies excluded."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from recommender.ml import metrics
from recommender.ml.data import Catalog, Dataset, Interactions, lookup
from recommender.ml.encoder import user_histories
from recommender.ml.split import Split

ScoreFn = Callable[[np.ndarray], np.ndarray]  # user ids int64 [B] -> scores float [B, M] in catalogue order
POSITIVE_RATING = 4.0  # relevance "rating >= 4": 4.0, 4.5 and 5.0 with half stars
SCORE_CELLS = 1 << 24  # users x movies scored at once: [users, M] float64 copies stay ~128 MB at any catalogue size
USER_BATCH = 512  # users scored at once at most
EVAL_MAX_USERS = 25_000  # holdout users measured at most: above it a fixed random sample (seed 0) of this many, the
# same users for the model, the active version and every baseline (ML-100K, ML-1M, ml-latest-small: every user; ML-25M:
# 25,000 of 162,541, a standard error of NDCG@10 near 0.002). metrics["users_sampled_from"] says when it sampled


def catalog_index(catalog: Catalog, movie_ids: np.ndarray) -> np.ndarray:
    """Row in the catalogue of each movie id, -1 where the id is not in the catalogue."""
    return lookup(catalog.movie_ids, movie_ids)


def user_batch(movies: int, cells: int = SCORE_CELLS) -> int:
    """Users scored at once so that a [users, movies] block stays within ``cells`` (at most USER_BATCH)."""
    return max(1, min(USER_BATCH, cells // max(movies, 1)))


def top_k_ranking(
    score_fn: ScoreFn,
    user_ids: np.ndarray,
    seen: dict[int, np.ndarray],
    k: int,
    batch: int = USER_BATCH,
    *,
    columns: np.ndarray | None = None,
    movies: int | None = None,
    with_scores: bool = False,
):
    """Top-k catalogue rows per user [U, k], best first, never a row in the user's ``seen`` while another is left;
    ``batch`` users are scored at a time (user_batch() of the catalogue keeps that block's memory bounded).

    ``columns`` (sorted catalogue rows, with ``movies`` the catalogue size): score_fn scores only those
    [B, len(columns)] (a baseline restricted to part of the catalogue); every other movie ranks below them, in
    catalogue order. The score block is only read: each row's k + |seen| best are partitioned out, then the seen
    ones dropped. ``with_scores`` (not with ``columns``): (rows, their scores [U, k] in the score blocks' dtype)."""
    assert columns is None or not with_scores, "with_scores ranks the whole catalogue (no columns)"
    out = np.empty((len(user_ids), k), dtype=np.int64)
    values = None  # with_scores: [U, k] in the score blocks' dtype, made with the first block
    unscored = None if columns is None else np.setdiff1d(np.arange(movies or 0), columns)
    for start in range(0, len(user_ids), batch):
        ids = user_ids[start : start + batch]
        scores = np.asarray(score_fn(ids))  # [B, C]; not written to, so no copy
        hidden = [_positions(seen.get(int(uid), _NONE), columns) for uid in ids]
        width = scores.shape[1]
        take = min(width, k + max((len(h) for h in hidden), default=0))
        if take < width:
            part = np.argpartition(scores, width - take, axis=1)[:, width - take :]
        else:
            part = np.broadcast_to(np.arange(width), (len(ids), width))
        best = np.take_along_axis(scores, part, axis=1)
        order = np.argsort(-best, axis=1, kind="stable")  # best first
        part = np.take_along_axis(part, order, axis=1)
        for row, uid in enumerate(ids):
            keep = ~np.isin(part[row], hidden[row]) if len(hidden[row]) else slice(None)
            rows = part[row][keep][:k]
            rows = rows if columns is None else columns[rows]
            if len(rows) < k:  # fewer than k unseen scored movies: unscored ones, then seen ones
                rows = _fill(rows, part[row], seen.get(int(uid), _NONE), columns, unscored, k)
            out[start + row] = rows
        if with_scores:  # each ranked movie's own score, a seen one filled in included
            if values is None:
                values = np.empty((len(user_ids), k), dtype=scores.dtype)
            values[start : start + len(ids)] = np.take_along_axis(scores, out[start : start + len(ids)], axis=1)
    if with_scores and values is None:  # no users
        values = np.empty((0, k), dtype=np.float64)
    return (out, values) if with_scores else out


_NONE = np.zeros(0, dtype=np.int64)


def _positions(rows: np.ndarray, columns: np.ndarray | None) -> np.ndarray:
    """Positions in ``columns`` of the catalogue ``rows`` that are among them (``rows`` themselves when None)."""
    if columns is None or len(rows) == 0:
        return rows
    at = np.minimum(np.searchsorted(columns, rows), len(columns) - 1)
    return at[columns[at] == rows]


def _fill(chosen, ranked, seen, columns, unscored, k: int) -> np.ndarray:
    """``chosen`` topped up to k (a user with fewer than k unseen scored movies): the ``unscored`` movies (catalogue
    rows not in ``columns``, sorted) they have not seen, then their seen movies, scored ones in score order first."""
    ranked = ranked if columns is None else columns[ranked]
    parts = [chosen]
    if columns is not None:
        parts.append(unscored[~np.isin(unscored, seen)])
    parts.append(ranked[np.isin(ranked, seen)])
    if columns is not None:
        parts.append(unscored[np.isin(unscored, seen)])
    return np.concatenate(parts)[:k]


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


@dataclass
class Protocol:
    """What the protocol reads from one split, whichever scorer it measures: each user's train rows (``seen``),
    held-out rows (all, and rated >= 4), the train popularity of every movie and the users measured (every holdout
    user, or a fixed sample of EVAL_MAX_USERS of ``sampled_from`` of them)."""

    seen: dict[int, np.ndarray]
    held_out: dict[int, np.ndarray]
    held_out_pos: dict[int, np.ndarray]
    popularity: np.ndarray
    user_ids: np.ndarray
    sampled_from: int | None = None  # the holdout users there were, when user_ids is a sample of them

    @classmethod
    def of(cls, split: Split, catalog: Catalog) -> Protocol:
        """Built once per split and catalogue (kept on the split): early stopping reads the same split after every
        round, and the baselines beside a version are measured on the split its model was."""
        cached = split.protocol  # one read: another thread may replace it
        if cached is not None and cached[0] is catalog:
            return cached[1]
        train_rows = catalog_index(catalog, split.train.movie_ids)
        test_rows = catalog_index(catalog, split.test.movie_ids)
        liked = split.test.scores >= POSITIVE_RATING
        held_out = group_rows(split.test, test_rows)
        user_ids, sampled_from = np.array(sorted(held_out), dtype=np.int64), None
        if len(user_ids) > EVAL_MAX_USERS:
            sampled_from = len(user_ids)
            user_ids = np.sort(np.random.default_rng(0).choice(user_ids, size=EVAL_MAX_USERS, replace=False))
        measured = set(user_ids.tolist())
        seen, held_out_pos = group_rows(split.train, train_rows), group_rows(split.test.subset(liked), test_rows[liked])
        protocol = cls(
            seen={u: rows for u, rows in seen.items() if u in measured},
            held_out={u: rows for u, rows in held_out.items() if u in measured},
            held_out_pos={u: rows for u, rows in held_out_pos.items() if u in measured},
            popularity=np.bincount(train_rows[train_rows >= 0], minlength=len(catalog)).astype(np.float64),
            user_ids=user_ids,
            sampled_from=sampled_from,
        )
        split.protocol = (catalog, protocol)  # kept on the split: it goes when the split does
        return protocol


def evaluate_scores(
    score_fn: ScoreFn,
    split: Split,
    catalog: Catalog,
    ks=(10, 20, 50),
    batch: int | None = None,
    *,
    columns: np.ndarray | None = None,
) -> dict:
    """Metrics of a scorer under the protocol; relevant = every held-out movie, and (suffix "_pos4") rating >= 4.

    ``mean_pop@K`` is the mean number of train ratings of the recommended movies; every metric has a
    ``_se`` twin (standard error across users) for the "beyond noise" comparisons. ``score_fn`` is called for
    ``batch`` users at a time (default: user_batch(len(catalog))); with ``columns`` it scores only those catalogue
    rows and the others rank below them (top_k_ranking).
    """
    p = Protocol.of(split, catalog)
    if len(p.user_ids) == 0:
        return {"users": 0}
    batch = batch or user_batch(len(catalog) if columns is None else len(columns))
    k = min(max(ks), len(catalog))
    top = top_k_ranking(score_fn, p.user_ids, p.seen, k, batch, columns=columns, movies=len(catalog))
    result = _metric_block(top, [p.held_out[int(u)] for u in p.user_ids], ks, p.popularity, len(catalog), "")
    pos_mask = np.array([int(u) in p.held_out_pos for u in p.user_ids])
    if pos_mask.any():
        relevant = [p.held_out_pos[int(u)] for u in p.user_ids[pos_mask]]
        result.update(_metric_block(top[pos_mask], relevant, ks, p.popularity, len(catalog), "_pos4"))
    if p.sampled_from is not None:
        result["users_sampled_from"] = p.sampled_from
    return result


def movie_vectors(model, catalog: Catalog) -> np.ndarray:
    """model.movie_vectors(catalog), the catalogue's features encoded once per (encoder, catalogue) pair in a row:
    they do not change while the network trains, and at 62,000 movies encoding them costs more than the network."""
    last = _ENCODED[0]  # one read: another thread may replace it
    if last is None or last[0] is not model.encoder or last[1] is not catalog:
        last = _ENCODED[0] = (model.encoder, catalog, model.encoder.encode_movies(catalog))
    return model.movie_vectors(catalog, last[2])


_ENCODED: list = [None]  # the last (encoder, catalogue, MovieFeatures)


def evaluate_model(model, dataset: Dataset, split: Split, ks=(10, 20, 50), batch: int | None = None) -> dict:
    """A TwoTowerModel under the protocol: each user's vector is built from their split.train ratings; scores are
    [batch users, catalogue] blocks (evaluate_scores), never [every user, catalogue]."""
    user_ids = Protocol.of(split, dataset.catalog).user_ids  # every holdout user, or the fixed sample measured
    user_vecs = model.user_vectors(dataset.users.select(user_ids), user_histories(split.train, user_ids))  # [U, D]
    movie_vecs = movie_vectors(model, dataset.catalog)  # [M, D]
    return evaluate_scores(
        lambda ids: user_vecs[lookup(user_ids, ids)] @ movie_vecs.T, split, dataset.catalog, ks, batch
    )

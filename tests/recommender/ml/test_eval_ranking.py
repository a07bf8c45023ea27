"""The ranking under the protocol at catalogue scale: restricted baselines ranked over the movies they score, MostPop
over its most popular movies, score blocks only read, the protocol and the movie encoding built once per split."""

import gc
import weakref

import numpy as np
import pytest
import scipy.sparse as sp
import threadpoolctl

from recommender.ml import evaluate
from recommender.ml.baselines import ALS, UNSCORED, evaluate_baselines, user_item_matrix
from recommender.ml.config import load_config
from recommender.ml.data import Catalog, Interactions
from recommender.ml.evaluate import Protocol, evaluate_scores, movie_vectors, top_k_ranking
from recommender.ml.split import Split, temporal_split
from recommender.ml.train import _setup
from tests.recommender.ml.fixtures import SMALL, tiny_dataset


def test_restricted_ranking_equals_the_dense_row_with_unscored_movies_below():
    rng = np.random.default_rng(0)
    movies, columns = 40, np.sort(rng.choice(40, 15, replace=False))
    scores = rng.random((6, 15)).astype(np.float32)
    dense = np.full((6, movies), UNSCORED, dtype=np.float32)
    dense[:, columns] = scores
    users = np.arange(6)
    seen = {int(u): rng.choice(columns, 4, replace=False) for u in users}
    want = top_k_ranking(lambda ids: dense[ids], users, seen, 10, batch=4)
    got = top_k_ranking(lambda ids: scores[ids], users, seen, 10, batch=4, columns=columns, movies=movies)
    np.testing.assert_array_equal(got, want)


def test_restricted_ranking_fills_with_unseen_unscored_movies_in_catalogue_order_then_seen_ones():
    scores = np.array([[0.2, 0.9]])  # columns 1 and 3 of 6
    top = top_k_ranking(lambda ids: scores, np.array([7]), {7: np.array([3, 2])}, 5, columns=np.array([1, 3]), movies=6)
    np.testing.assert_array_equal(top, [[1, 0, 4, 5, 3]])  # 3 (seen, scored) before 2 (seen, unscored)


def test_ranking_only_reads_the_score_block_and_returns_the_scores_it_ranked_by():
    scores = np.array([[0.5, 0.1, 0.9, 0.3], [0.2, 0.8, 0.4, 0.6]], dtype=np.float32)
    kept = scores.copy()
    seen = {0: np.array([2]), 1: np.array([1, 3])}
    top, values = top_k_ranking(lambda ids: scores[:2], np.array([0, 1]), seen, 2, with_scores=True)
    np.testing.assert_array_equal(scores, kept)  # a cached block handed over is left as it was
    np.testing.assert_array_equal(top, [[0, 3], [2, 0]])
    np.testing.assert_array_equal(values, scores[[[0, 0], [1, 1]], [[0, 3], [2, 0]]])
    top, values = top_k_ranking(lambda ids: scores[1:2], np.array([1]), seen, 4, with_scores=True)
    np.testing.assert_array_equal(top, [[2, 0, 1, 3]])  # seen movies only after every unseen one, with their scores
    np.testing.assert_array_equal(values, scores[1:2, [2, 0, 1, 3]])


def _distinct_popularity_split():
    """Movie j (1..8) rated by j users, spread so no user rated more than 3 of them; one held-out movie each."""
    users, movies = [], []
    u = 0
    for j in range(1, 9):
        for _ in range(j):
            users.append(u % 14 + 1)
            movies.append(j)
            u += 1
    pairs = sorted(set(zip(users, movies, strict=True)))
    train = Interactions([p[0] for p in pairs], [p[1] for p in pairs], [5.0] * len(pairs), list(range(len(pairs))))
    test_users = sorted({p[0] for p in pairs})
    held = [next(m for m in (9, 8, 7, 6, 5, 4) if (v, m) not in pairs) for v in test_users]
    test = Interactions(test_users, held, [4.0] * len(held), [1000] * len(held))
    ids = np.arange(1, 10, dtype=np.int64)
    return Split(train, test), Catalog(ids, [str(i) for i in ids], [[] for _ in ids], np.zeros(9, np.int32))


def test_mostpop_ranked_over_its_most_popular_movies_measures_what_the_whole_row_does():
    split, catalog = _distinct_popularity_split()
    x, _ = user_item_matrix(split.train, catalog)
    popularity = np.asarray(x.sum(axis=0)).ravel()
    assert len(np.unique(popularity[popularity > 0])) == 8  # no ties: one order either way
    whole = evaluate_scores(lambda ids: np.tile(popularity, (len(ids), 1)), split, catalog, ks=(1, 2))
    got = evaluate_baselines(split, catalog, names=("MostPop",), ks=(1, 2))["MostPop"]
    assert got == whole and "scored_movies" not in got


def test_protocol_is_built_once_per_split_and_again_for_another():
    ds = tiny_dataset()
    split = temporal_split(ds.interactions)
    first = Protocol.of(split, ds.catalog)
    assert Protocol.of(split, ds.catalog) is first
    other = Split(split.train, split.test.subset(split.test.user_ids <= 10))
    assert list(Protocol.of(other, ds.catalog).user_ids) == list(range(1, 11))
    fresh = Protocol.of(Split(split.train, split.test), ds.catalog)  # same arrays, new object: rebuilt, same values
    assert fresh is not first and list(fresh.user_ids) == list(first.user_ids)
    gone = weakref.ref(fresh)
    del fresh
    gc.collect()
    assert gone() is None  # kept on its split only: nothing outlives an evaluation


def test_movie_vectors_encode_the_catalogue_once_for_the_same_encoder(monkeypatch):
    ds = tiny_dataset()
    split = temporal_split(ds.interactions)
    model, _, _ = _setup(ds, split.train, load_config(**SMALL))
    calls = []
    encode = model.encoder.encode_movies
    monkeypatch.setattr(model.encoder, "encode_movies", lambda c: calls.append(1) or encode(c))
    monkeypatch.setattr(evaluate, "_ENCODED", [None])
    first = movie_vectors(model, ds.catalog)
    np.testing.assert_array_equal(first, model.movie_vectors(ds.catalog))
    np.testing.assert_array_equal(movie_vectors(model, ds.catalog), first)
    assert len(calls) == 2  # once for the cache, once for model.movie_vectors above; the second read reused it


def test_als_fits_with_one_blas_thread(monkeypatch):
    x, _ = user_item_matrix(tiny_dataset().interactions, tiny_dataset().catalog)
    als = ALS(iterations=1)
    seen = []

    def fit(*args, **kwargs):
        seen.extend(i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas")

    monkeypatch.setattr(als.model, "fit", fit)
    als.fit(x)
    assert seen and set(seen) == {1}


@pytest.mark.parametrize("k", [1, 3])
def test_restricted_baseline_metrics_match_the_dense_unscored_rows(k, monkeypatch):
    from recommender.ml import baselines

    ds = tiny_dataset(n_users=50, n_movies=30)
    split = temporal_split(ds.interactions)
    x, user_ids = user_item_matrix(split.train, ds.catalog)
    monkeypatch.setattr(baselines, "EASE_MAX_MOVIES", 12)
    ease = baselines.EASE().fit(x)
    dense = evaluate_scores(
        lambda ids: ease.score(np.searchsorted(user_ids, ids), x), split, ds.catalog, ks=(k,)
    )  # the UNSCORED rows the evaluation used before
    got = evaluate_baselines(split, ds.catalog, names=("EASE",), ks=(k,))["EASE"]
    assert got["scored_movies"] == 12
    assert {m: v for m, v in got.items() if m != "scored_movies"} == pytest.approx(dense)


def test_a_large_holdout_is_measured_on_one_fixed_sample_for_model_and_baselines(monkeypatch):
    ds = tiny_dataset(n_users=40)
    split = temporal_split(ds.interactions)
    monkeypatch.setattr(evaluate, "EVAL_MAX_USERS", 15)
    protocol = Protocol.of(split, ds.catalog)
    assert len(protocol.user_ids) == 15 and protocol.sampled_from == 40 and set(protocol.seen) == set(protocol.user_ids)
    again = Protocol.of(Split(split.train, split.test), ds.catalog)
    assert again is not protocol and list(again.user_ids) == list(protocol.user_ids)  # fixed: the same users again
    model, _, _ = _setup(ds, split.train, load_config(**SMALL))
    scored = []
    user_vectors = model.user_vectors
    monkeypatch.setattr(model, "user_vectors", lambda users, h: scored.append(len(h)) or user_vectors(users, h))
    result = evaluate.evaluate_model(model, ds, split, ks=(10,))
    assert result["users"] == 15 and result["users_sampled_from"] == 40 and scored == [15]
    mostpop = evaluate_baselines(split, ds.catalog, names=("MostPop",), ks=(10,))["MostPop"]
    assert mostpop["users"] == 15 and mostpop["users_sampled_from"] == 40


def test_ease_runs_on_its_own_cap_of_most_rated_movies_below_the_item_item_one():
    from recommender.ml import baselines

    # its cost is movies³ (ItemKNN's is not); what it does above its cap: test_scale (a small cap, monkeypatched)
    assert baselines.EASE().max_movies == baselines.EASE_MAX_MOVIES < baselines.ITEM_ITEM_MAX_MOVIES
    x = sp.csr_matrix(np.eye(6, baselines.EASE_MAX_MOVIES + 1, dtype=np.float32))
    assert baselines.most_rated(x, baselines.EASE().max_movies) is not None  # one movie above it: restricted

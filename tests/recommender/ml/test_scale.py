"""Costs that must not grow with users × catalogue or catalogue²: blocked co-ratings, EASE on the most-rated movies
above its cap, evaluation in user blocks."""

import numpy as np
import pytest
import scipy.sparse as sp

from recommender.ml import baselines
from recommender.ml.baselines import EASE, UNSCORED, ItemKNN, evaluate_baselines, user_item_matrix
from recommender.ml.config import load_config
from recommender.ml.evaluate import evaluate_model, evaluate_scores, user_batch
from recommender.ml.neighbours import ItemNeighbours
from recommender.ml.split import temporal_split
from recommender.ml.train import train
from tests.recommender.ml.fixtures import SMALL, tiny_dataset


@pytest.fixture(scope="module")
def data():
    ds = tiny_dataset(n_users=60, n_movies=25)
    return ds, temporal_split(ds.interactions)


def test_ease_above_its_cap_scores_only_the_most_rated_movies(data):
    ds, split = data
    x, _ = user_item_matrix(split.train, ds.catalog)
    counts = np.asarray(x.sum(axis=0)).ravel()
    kept = np.sort(np.argsort(-counts, kind="stable")[:10])
    ease = EASE(max_movies=10).fit(x)
    np.testing.assert_array_equal(ease.columns, kept)
    scores = ease.score(np.arange(5), x)
    assert scores.shape == (5, len(ds.catalog))
    assert (np.delete(scores, kept, axis=1) == UNSCORED).all()  # below any score, above a seen movie's -inf
    np.testing.assert_allclose(scores[:, kept], EASE().fit(x[:, kept]).score(np.arange(5), x[:, kept]), rtol=1e-6)
    assert EASE().fit(x).columns is None  # under the cap: every movie, as before


def test_evaluate_baselines_says_when_ease_was_restricted(data, monkeypatch):
    ds, split = data
    assert "scored_movies" not in evaluate_baselines(split, ds.catalog, names=("EASE",), ks=(10,))["EASE"]
    monkeypatch.setattr(baselines, "EASE_MAX_MOVIES", 10)
    result = evaluate_baselines(split, ds.catalog, names=("EASE", "ItemKNN"), ks=(10,))
    assert result["EASE"]["scored_movies"] == 10 and "scored_movies" not in result["ItemKNN"]
    assert 0 <= result["EASE"]["ndcg@10"] <= 1


def test_item_item_methods_above_the_cap_keep_to_the_most_rated_movies(data, monkeypatch):
    from recommender.ml import neighbours

    ds, split = data
    x, _ = user_item_matrix(split.train, ds.catalog)
    kept = np.sort(np.argsort(-np.asarray(x.sum(axis=0)).ravel(), kind="stable")[:12])
    unrestricted = ItemKNN(neighbours=5).fit(x[:, kept]).score(np.arange(6), x[:, kept])
    monkeypatch.setattr(baselines, "ITEM_ITEM_MAX_MOVIES", 12)
    monkeypatch.setattr(neighbours, "ITEM_ITEM_MAX_MOVIES", 12)
    knn = ItemKNN(neighbours=5).fit(x)
    np.testing.assert_array_equal(knn.columns, kept)
    scores = knn.score(np.arange(6), x)
    assert (np.delete(scores, kept, axis=1) == UNSCORED).all()
    np.testing.assert_array_equal(scores[:, kept], unrestricted)
    assert evaluate_baselines(split, ds.catalog, names=("ItemKNN",), ks=(10,))["ItemKNN"]["scored_movies"] == 12

    table = ItemNeighbours.fit(split.train, ds.catalog, k=4, min_common=1)
    kept_ids = set(ds.catalog.movie_ids[kept].tolist())
    has = {int(m) for m, row in zip(table.movie_ids, table.neighbours, strict=True) if (row >= 0).any()}
    assert has and has <= kept_ids, "only the most-rated movies get co-rating neighbours"
    assert set(table.neighbours[table.neighbours >= 0].tolist()) <= kept_ids


def test_item_knn_in_blocks_equals_the_dense_similarity(data, monkeypatch):
    ds, split = data
    x, _ = user_item_matrix(split.train, ds.catalog)
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=0)).ravel()) + 1e-9
    dense = (x.T @ x).toarray() / norms[:, None] / norms[None, :]  # the whole [M, M] matrix, top 5 per column
    np.fill_diagonal(dense, 0.0)
    dense[dense < -np.partition(-dense, 4, axis=0)[4][None, :]] = 0.0
    monkeypatch.setattr(baselines, "BLOCK_CELLS", 3 * len(ds.catalog))  # 3 movies a block
    knn = ItemKNN(neighbours=5).fit(x)
    assert sp.issparse(knn.sim) and knn.sim.shape == dense.shape
    np.testing.assert_array_equal(knn.sim.toarray(), dense.astype(np.float32))


def test_co_rating_neighbours_in_blocks_equal_one_block(data, monkeypatch):
    ds, split = data
    whole = ItemNeighbours.fit(split.train, ds.catalog, k=4)
    monkeypatch.setattr(baselines, "BLOCK_CELLS", 1)  # one movie a block
    blocked = ItemNeighbours.fit(split.train, ds.catalog, k=4)
    np.testing.assert_array_equal(blocked.neighbours, whole.neighbours)
    np.testing.assert_array_equal(blocked.scores, whole.scores)


def test_user_blocks_shrink_with_the_catalogue():
    assert user_batch(1_682) == 512 and user_batch(62_000, cells=62_000 * 60) == 60 and user_batch(10**9) == 1


def test_evaluation_in_user_blocks_equals_one_block(data, tmp_path):
    ds, split = data
    scores = np.random.default_rng(0).random((len(ds.users), len(ds.catalog)))
    calls = []

    def score_fn(ids):
        calls.append(len(ids))
        return scores[ids - 1]  # user ids are 1..U

    one = evaluate_scores(score_fn, split, ds.catalog, ks=(5, 10), batch=10_000)
    blocked = evaluate_scores(score_fn, split, ds.catalog, ks=(5, 10), batch=7)
    assert one == blocked and max(calls[1:]) == 7
    model = train(ds, split, load_config(epochs=1, **SMALL), tmp_path).model
    assert evaluate_model(model, ds, split, batch=3) == evaluate_model(model, ds, split)

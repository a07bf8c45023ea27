"""The second stage (recommender/ml/ranker.py): its features on hand-checked examples, the cross-fitted decision
(kept when it beats the tower's order, refused when the tower's order is already right), saving and loading, and
the holdout driver on a real tiny model."""

import numpy as np
import pytest

from recommender.ml.config import load_config
from recommender.ml.data import Catalog, Interactions, Users
from recommender.ml.neighbours import ItemNeighbours
from recommender.ml.ranker import FEATURES, RankContext, Ranker, fit_holdout_ranker, fit_ranker
from recommender.ml.split import temporal_split
from recommender.ml.train import train
from tests.recommender.ml.fixtures import SMALL, tiny_dataset

COLUMN = {name: i for i, name in enumerate(FEATURES)}


def catalog(n: int) -> Catalog:
    ids = np.arange(1, n + 1, dtype=np.int64) * 10
    genres = [["Action"] if i % 2 else ["Comedy", "Drama"] for i in range(n)]
    return Catalog(ids, [f"m{i}" for i in ids], genres, np.arange(1990, 1990 + n, dtype=np.int32))


def ratings(pairs) -> Interactions:
    users, movies = zip(*pairs, strict=True)
    return Interactions(np.array(users), np.array(movies), np.full(len(pairs), 4.0), np.arange(len(pairs)))


def test_features_read_co_ratings_of_recent_movies_popularity_and_genre_affinity():
    # movies 10 and 20 are rated together by users 1-3; 30 by users 1-2 with them; 40 by nobody
    pairs = [(1, 10), (2, 10), (3, 10), (1, 20), (2, 20), (3, 20), (1, 30), (2, 30)]
    cat = catalog(4)
    interactions = ratings(pairs)
    context = RankContext.build(cat, interactions, ItemNeighbours.fit(interactions, cat, k=3))
    # a user who rated movie 10 (row 0, Comedy+Drama); candidates 20, 30, 40 (rows 1..3)
    f = context.features(np.array([1, 2, 3]), np.array([0.9, 0.5, 0.1]), np.array([0, -1]), ("F", 25, 7))
    assert f.shape == (3, len(FEATURES))
    np.testing.assert_allclose(f[:, COLUMN["tower_score"]], [0.9, 0.5, 0.1], rtol=1e-6)
    np.testing.assert_allclose(f[:, COLUMN["co_rating"]], [1.0, 2 / np.sqrt(6), 0.0], rtol=1e-5)  # cosines to 10
    # popularity: log(1 + ratings) - log(1 + the most ratings) = log(4/4), log(3/4), log(1/4)
    np.testing.assert_allclose(f[:, COLUMN["popularity"]], np.log([1.0, 3 / 4, 1 / 4]), rtol=1e-5)
    # genre affinity: share of the candidate's genres among the history's (Comedy, Drama): 20 is Action only
    np.testing.assert_allclose(f[:, COLUMN["genre_affinity"]], [0.0, 1.0, 0.0])
    np.testing.assert_allclose(f[:, COLUMN["year"]], [1991, 1992, 1993])
    assert set(f[:, COLUMN["gender"]]) == {2} and set(f[:, COLUMN["occupation"]]) == {7}
    np.testing.assert_allclose(f[:, COLUMN["history_length"]], np.log1p(1))  # the unknown row (-1) is not counted


def _candidates(n_users: int, pool: int, seed: int):
    """A catalogue of 300 movies; per user ``pool`` random candidates with random tower scores, best first."""
    rng = np.random.default_rng(seed)
    cat = catalog(300)
    interactions = ratings([(u, int(m)) for u in range(1, 60) for m in rng.choice(cat.movie_ids, 20, replace=False)])
    context = RankContext.build(cat, interactions, ItemNeighbours.fit(interactions, cat, k=10))
    candidates = np.stack([rng.choice(300, pool, replace=False) for _ in range(n_users)])
    scores = np.sort(rng.random((n_users, pool)), axis=1)[:, ::-1].astype(np.float32)
    users = Users(np.arange(n_users), ["M"] * n_users, np.full(n_users, 25), np.full(n_users, 1))
    histories = [np.array([0, 1, 2]) for _ in range(n_users)]
    return context, candidates, scores, users, histories


def test_a_ranker_that_finds_what_the_tower_misses_is_kept():
    context, candidates, scores, users, histories = _candidates(400, 40, seed=1)
    # relevant: the 3 most recent movies of each user's candidates; the tower's scores know nothing of it
    relevant = [c[np.argsort(-context.years[c])[:3]] for c in candidates]
    ranker, report = fit_ranker(context, users, candidates, scores, histories, relevant, threads=1)
    assert report.keep and report.ranked_ndcg10 > report.tower_ndcg10 + 0.3
    ordered, _ = ranker.order(candidates[0], scores[0], histories[0], ("M", 25, 1))
    assert set(ordered[:3]) == set(relevant[0])


def test_a_ranker_is_refused_when_the_tower_order_is_already_right():
    context, candidates, scores, users, histories = _candidates(400, 40, seed=2)
    relevant = [c[:3] for c in candidates]  # exactly the tower's top 3: nothing to gain
    _, report = fit_ranker(context, users, candidates, scores, histories, relevant, threads=1)
    assert report.tower_ndcg10 == pytest.approx(1.0)
    assert not report.keep


def test_save_and_load_keep_the_order(tmp_path):
    context, candidates, scores, users, histories = _candidates(200, 30, seed=3)
    relevant = [c[np.argsort(-context.years[c])[:3]] for c in candidates]
    ranker, report = fit_ranker(context, users, candidates, scores, histories, relevant, threads=1)
    ranker.save(tmp_path, report)
    again = Ranker.load(tmp_path)
    for i in range(5):
        a, sa = ranker.order(candidates[i], scores[i], histories[i], ("F", 18, 3))
        b, sb = again.order(candidates[i], scores[i], histories[i], ("F", 18, 3))
        assert a.tolist() == b.tolist()
        np.testing.assert_allclose(sa, sb, rtol=1e-6)
    assert Ranker.load(tmp_path / "none") is None
    # several users in one prediction call (batch jobs) order each exactly as one call per user
    queries = [(candidates[i][: 10 + i], scores[i][: 10 + i], histories[i], ("M", 25, 1)) for i in range(4)]
    queries.append((candidates[0][:0], scores[0][:0], histories[0], ("M", 25, 1)))  # nothing to order
    for (a, sa), (b, sb) in zip(again.order_many(queries), [again.order(*q) for q in queries], strict=True):
        assert a.tolist() == b.tolist()
        np.testing.assert_allclose(sa, sb, rtol=1e-6)


def test_the_holdout_driver_fits_a_real_tiny_model_candidates(tmp_path):
    ds = tiny_dataset(n_users=60, n_movies=40, per_user=15)
    split = temporal_split(ds.interactions)
    model = train(ds, split, load_config(**SMALL, epochs=2, patience=2), tmp_path).model
    ranker, report = fit_holdout_ranker(model, ds, split, max_users=50, threads=1)
    assert report.users == 50
    assert 0.0 <= report.tower_ndcg10 <= 1.0 and 0.0 <= report.ranked_ndcg10 <= 1.0
    assert report.keep == (report.ranked_ndcg10 - report.tower_ndcg10 > report.gain_se)
    movie_rows = np.arange(len(ds.catalog))
    ordered, scores = ranker.order(movie_rows, np.zeros(len(movie_rows)), np.array([0, 1]), ("M", 25, 1))
    assert sorted(ordered.tolist()) == movie_rows.tolist() and np.all(np.diff(scores) <= 0)

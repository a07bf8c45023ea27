"""Co-rating neighbours, the rank-fusion blend and the similar-movies hit rate (benchmarks/bench_similar.py's
metric), on hand-checked examples."""

import numpy as np
import pytest

from benchmarks.bench_similar import similar_hit_rate
from recommender.ml.data import Catalog, Interactions
from recommender.ml.neighbours import RRF_K, ItemNeighbours, blend


def catalog(n: int) -> Catalog:
    ids = np.arange(1, n + 1, dtype=np.int64) * 10
    return Catalog(ids, [f"m{i}" for i in ids], [[] for _ in ids], np.zeros(n, dtype=np.int32))


def ratings(pairs, timestamps=None) -> Interactions:
    users, movies = zip(*pairs, strict=True)
    ts = timestamps if timestamps is not None else np.arange(len(pairs))
    return Interactions(np.array(users), np.array(movies), np.full(len(pairs), 4.0), np.array(ts))


def test_co_rating_cosine_top_k_and_min_common(tmp_path):
    # movie 10: users 1,2,3 ; movie 20: users 1,2,3 ; movie 30: users 1,2 ; movie 40: user 3 ; movie 50: nobody
    pairs = [(1, 10), (2, 10), (3, 10), (1, 20), (2, 20), (3, 20), (1, 30), (2, 30), (3, 40)]
    table = ItemNeighbours.fit(ratings(pairs), catalog(5), k=2, min_common=2)
    # cos(10,20) = 3 / (√3·√3) = 1 ; cos(10,30) = 2 / (√3·√2) ≈ 0.816 ; (10,40) share one user: dropped
    assert table.of(10) == [(20, pytest.approx(1.0)), (30, pytest.approx(2 / np.sqrt(6)))]
    assert [m for m, _ in table.of(40)] == []  # only one common user with anything
    assert table.of(50) == [] and table.of(999) == []
    table.save(tmp_path)
    again = ItemNeighbours.load(tmp_path)
    assert again.of(10) == table.of(10)
    assert ItemNeighbours.load(tmp_path / "nowhere") is None


def test_blend_is_reciprocal_rank_fusion():
    co, vec = [(1, 0.9), (2, 0.8), (3, 0.1)], [(2, 0.99), (4, 0.98)]
    fused = blend(co, vec, k=3)
    assert [m for m, _ in fused] == [2, 1, 4]  # in both lists beats first in one list
    assert fused[0][1] == pytest.approx(1 / (RRF_K + 2) + 1 / (RRF_K + 1))
    assert [m for m, _ in blend([], vec, k=5)] == [2, 4]  # no co-ratings: the vector list as it is


def test_similar_hit_rate_queries_each_users_last_train_movie():
    train = ratings([(1, 10), (1, 20), (2, 30)], timestamps=[1, 2, 1])  # user 1's last is 20, user 2's is 30
    test = ratings([(1, 40), (2, 50), (2, 60)])
    lists = {20: [40, 50], 30: [10, 20]}
    result = similar_hit_rate(lambda m: lists.get(m, []), train, test, k=1)
    assert result["users"] == 2 and result["hit@1"] == pytest.approx(0.5)  # user 1 hits 40, user 2 misses

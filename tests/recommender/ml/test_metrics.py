"""Metrics on hand-computed examples."""

import math

import numpy as np
import pytest

from recommender.ml import metrics

H = np.array([[1, 0, 1, 0], [0, 0, 0, 0], [0, 1, 0, 0]], dtype=bool)  # 3 users, ranks 0..3
N_REL = np.array([2, 3, 1])


@pytest.mark.parametrize(
    ("name", "k", "expected"),
    [
        ("recall", 1, [1 / 2, 0, 0]),
        ("recall", 4, [2 / 2, 0, 1]),
        ("precision", 2, [1 / 2, 0, 1 / 2]),
        ("precision", 4, [2 / 4, 0, 1 / 4]),
        ("hit", 1, [1, 0, 0]),
        ("hit", 2, [1, 0, 1]),
        ("ndcg", 1, [1, 0, 0]),
        ("ndcg", 2, [1 / (1 + 1 / math.log2(3)), 0, 1 / math.log2(3)]),
        ("ndcg", 4, [(1 + 1 / math.log2(4)) / (1 + 1 / math.log2(3)), 0, 1 / math.log2(3)]),
    ],
)
def test_per_user_metrics(name, k, expected):
    fn = {
        "recall": lambda: metrics.recall_at_k(H, N_REL, k),
        "precision": lambda: metrics.precision_at_k(H, k),
        "hit": lambda: metrics.hit_rate_at_k(H, k),
        "ndcg": lambda: metrics.ndcg_at_k(H, N_REL, k),
    }[name]
    np.testing.assert_allclose(fn(), expected)


def test_coverage_and_popularity():
    top = np.array([[0, 1, 2], [0, 3, 4]])
    assert metrics.coverage_at_k(top, 10, 1) == 0.1
    assert metrics.coverage_at_k(top, 10, 3) == 0.5
    pop = np.array([10.0, 5, 1, 0, 4])
    assert metrics.mean_popularity_at_k(top, pop, 2) == (10 + 5 + 10 + 0) / 4


def test_standard_error():
    assert metrics.standard_error(np.array([1.0, 3.0])) == pytest.approx(np.std([1, 3], ddof=1) / math.sqrt(2))
    assert metrics.standard_error(np.array([1.0])) == 0.0

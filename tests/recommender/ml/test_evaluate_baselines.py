"""The protocol end to end on tiny examples, and the baselines."""

import numpy as np
import pytest

from recommender.ml.baselines import evaluate_baselines
from recommender.ml.data import Catalog, Interactions
from recommender.ml.evaluate import evaluate_scores
from recommender.ml.split import Split
from tests.recommender.ml.fixtures import tiny_dataset

CATALOG = Catalog(np.array([1, 2, 3, 4], dtype=np.int64), ["a", "b", "c", "d"], [[], [], [], []], np.zeros(4, np.int32))


def test_evaluate_excludes_train_movies_and_splits_positive_relevance():
    train = Interactions([7, 7], [1, 2], [5, 5], [1, 2])
    test = Interactions([7, 7], [3, 4], [5, 2], [3, 4])  # movie 3 liked, movie 4 not
    # scorer ranks catalogue rows 0 > 1 > 3 > 2; rows 0 and 1 are train movies -> ranking is [4, 3]
    result = evaluate_scores(
        lambda ids: np.tile([9.0, 8.0, 1.0, 2.0], (len(ids), 1)), Split(train, test), CATALOG, ks=(1, 2)
    )
    assert result["users"] == 1
    assert result["recall@1"] == 0.5 and result["hit@1"] == 1.0 and result["recall@2"] == 1.0
    assert result["recall@1_pos4"] == 0.0 and result["recall@2_pos4"] == 1.0
    assert result["ndcg@2_pos4"] == pytest.approx(1 / np.log2(3))
    assert result["coverage@2"] == 0.5


def test_baselines_on_tiny_example():
    ds = tiny_dataset()
    from recommender.ml.split import temporal_split

    split = temporal_split(ds.interactions)
    results = evaluate_baselines(split, ds.catalog)
    assert set(results) == {"MostPop", "ItemKNN", "EASE", "ALS"}
    for name in ("ItemKNN", "EASE"):  # genre-clustered tastes: item-item methods beat popularity
        assert results[name]["ndcg@10"] > results["MostPop"]["ndcg@10"], name
    assert all(0 <= r["recall@50"] <= 1 for r in results.values())


def test_mostpop_hand_computed():
    train = Interactions([1, 2, 2, 3], [1, 1, 2, 1], [5] * 4, [1, 1, 2, 1])
    test = Interactions([3], [2], [5], [9])
    result = evaluate_baselines(Split(train, test), CATALOG, names=("MostPop",), ks=(1,))["MostPop"]
    assert result["hit@1"] == 1.0  # user 3 has seen movie 1; next most popular is 2

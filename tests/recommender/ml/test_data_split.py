"""Dataset save/load and the temporal split on hand-made examples."""

import numpy as np

from recommender.ml.data import Dataset, Interactions
from recommender.ml.split import temporal_split
from tests.recommender.ml.fixtures import tiny_dataset


def test_dataset_round_trip(tmp_path):
    ds = tiny_dataset()
    ds.save(tmp_path / "ds.npz")
    back = Dataset.load(tmp_path / "ds.npz")
    assert back.catalog.titles == ds.catalog.titles
    assert back.catalog.genres == ds.catalog.genres
    assert back.users.genders == ds.users.genders
    np.testing.assert_array_equal(back.catalog.years, ds.catalog.years)
    np.testing.assert_array_equal(back.users.occupations, ds.users.occupations)
    np.testing.assert_array_equal(back.interactions.timestamps, ds.interactions.timestamps)
    assert back.interactions.scores.dtype == np.float32


def test_temporal_split_hand_made():
    # user 1: 5 ratings (1 to test); user 2: 10 ratings (2 to test), two share a timestamp -> movie id breaks the tie;
    # user 3: 4 ratings (below min_ratings: all train).
    u = [1] * 5 + [2] * 10 + [3] * 4
    m = [11, 12, 13, 14, 15] + [29, 28, 27, 26, 25, 24, 23, 22, 21, 20] + [31, 32, 33, 34]
    t = [5, 4, 3, 2, 1] + [1, 2, 3, 4, 5, 6, 7, 8, 9, 9] + [1, 2, 3, 4]
    split = temporal_split(Interactions(u, m, np.full(19, 4.0), t))
    test = sorted(zip(split.test.user_ids.tolist(), split.test.movie_ids.tolist(), strict=True))
    assert test == [(1, 11), (2, 20), (2, 21)]
    assert len(split.train) == 16
    assert 3 not in split.test.user_ids
    # train is in (user, time, movie) order
    assert split.train.movie_ids[:4].tolist() == [15, 14, 13, 12]

"""The training examples (recommender/ml/sequences.py): each user's ratings cut into windows for the user tower."""

import numpy as np
import pytest

from recommender.ml.config import load_config
from recommender.ml.encoder import FeatureEncoder
from recommender.ml.sequences import Sequences
from recommender.ml.split import temporal_split
from tests.recommender.ml.fixtures import SMALL, tiny_dataset


@pytest.fixture(scope="module")
def data():
    ds = tiny_dataset()
    return ds, temporal_split(ds.interactions)


def test_windows_cover_every_rating_once_with_its_past_as_input(data):
    ds, split = data
    config = load_config(**{**SMALL, "max_history": 4})
    enc = FeatureEncoder.fit(ds.catalog, split.train, max_history=4, min_token_count=1)
    seqs = Sequences(ds, split.train, enc, config)
    windows = seqs.windows(np.random.default_rng(0))
    targets = windows["target"][windows["target"] >= 0]
    assert sorted(targets.tolist()) == list(range(seqs.n))  # every rating is a target exactly once
    fit = seqs.fit
    for inputs, target in zip(windows["input"], windows["target"], strict=True):
        assert len(set(fit.user_ids[target[target >= 0]])) == 1  # a window holds one user's ratings
        for i, t in zip(inputs, target, strict=True):
            if t < 0:
                assert i == -2  # padding reads padding
                continue
            if i == -1:  # the start token: the target is the user's first rating
                assert fit.timestamps[t] == fit.timestamps[fit.user_ids == fit.user_ids[t]].min()
            else:  # the input is an earlier (or tied) rating of the same user
                assert fit.user_ids[i] == fit.user_ids[t] and fit.timestamps[i] <= fit.timestamps[t]

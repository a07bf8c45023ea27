"""User vectors computed for many users at once (grouped by history length, each group trimmed to its longest
history) equal the vectors computed one user at a time."""

import numpy as np
import pytest

from recommender.ml import model as model_module
from recommender.ml.config import load_config
from recommender.ml.data import Users
from recommender.ml.encoder import FeatureEncoder
from recommender.ml.model import TwoTowerModel
from tests.recommender.ml.fixtures import SMALL, tiny_dataset

pytestmark = pytest.mark.slow(reason="trains the tiny two-tower model with Paddle")


def test_grouped_user_vectors_equal_one_at_a_time(monkeypatch):
    monkeypatch.setattr(model_module, "USER_BATCH", 3)  # several groups from a handful of users
    ds = tiny_dataset(n_users=10)
    config = load_config(**SMALL)
    encoder = FeatureEncoder.fit(ds.catalog, ds.interactions, max_title_tokens=config.max_title_tokens,
                                 max_history=config.max_history, min_token_count=1)  # fmt: skip
    model = TwoTowerModel.build(encoder, config)
    rng = np.random.default_rng(0)
    movie_ids = ds.catalog.movie_ids
    histories = []
    for length in [0, 14, 1, 3, 9, 0, 2, 12, 5, 7]:  # mixed lengths, some beyond max_history (10)
        picked = rng.choice(movie_ids, size=length, replace=False)
        histories.append((picked.astype(np.int64), rng.integers(1, 6, size=length).astype(np.float32)))

    together = model.user_vectors(ds.users, histories)

    for i in range(len(histories)):
        one = Users(ds.users.user_ids[i : i + 1], ds.users.genders[i : i + 1], ds.users.ages[i : i + 1],
                    ds.users.occupations[i : i + 1])  # fmt: skip
        np.testing.assert_allclose(together[i], model.user_vectors(one, [histories[i]])[0], rtol=1e-5, atol=1e-6)
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)

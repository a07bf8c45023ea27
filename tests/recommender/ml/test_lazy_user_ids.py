"""A large user-id table trains row-sparse with lazy Adam: a step moves its own users' rows only."""

import numpy as np
import pytest

from recommender.ml import collective
from recommender.ml.config import load_config
from recommender.ml.model import TwoTowerModel
from recommender.ml.split import temporal_split
from recommender.ml.train import EpochPlan, _setup, lazy_user_ids, refit, run_steps, train, user_id_updates
from tests.recommender.ml.fixtures import SMALL, tiny_dataset

pytestmark = pytest.mark.slow(reason="trains the tiny two-tower model with Paddle")


def test_the_table_size_decides_and_paddle_limits_are_kept(monkeypatch):
    config = load_config(lazy_user_ids_from=100)
    assert lazy_user_ids(100, config) and not lazy_user_ids(99, config)
    assert not lazy_user_ids(10**6, load_config(lazy_user_ids_from=0))  # 0 = never
    assert not lazy_user_ids(10**6, load_config(lazy_user_ids_from=100, weight_decay=0.01))  # Adam refuses decay
    assert not lazy_user_ids(10**6, load_config(lazy_user_ids_from=100, use_user_id=False))  # no table
    assert not lazy_user_ids(10**6, load_config(lazy_user_ids_from=100, trainer_processes=2))  # dense all-reduce
    monkeypatch.setattr(collective, "world_size", lambda: 2)  # a rank of a run launched by hand
    assert not lazy_user_ids(10**6, config)


def _two_steps(lazy_from: int):
    """Two training steps over windows of disjoint users: (table before, after step 1, after step 2, rows 1, rows 2)."""
    ds = tiny_dataset()
    split = temporal_split(ds.interactions)
    config = load_config(**{**SMALL, "user_id_dropout": 0.0, "lazy_user_ids_from": lazy_from})
    model, optimizer, sequences = _setup(ds, split.train, config)
    plan = EpochPlan(sequences, config, epoch=1)
    rows_of = sequences.users.index[plan.windows["user"]]  # each window's row in the user-id table
    order = np.argsort(rows_of, kind="stable")
    first, second = order[:4], order[-4:]  # the lowest and the highest users' windows: disjoint users
    table = model.net.user_id.weight
    states = [table.numpy().copy()]
    for batch in (first, second):
        run_steps(model.net, optimizer, plan, [batch], epoch=1)
        states.append(table.numpy().copy())
    return (*states, np.unique(rows_of[first]), np.unique(rows_of[second]))


def _moved(a: np.ndarray, b: np.ndarray, rows: np.ndarray) -> np.ndarray:
    return np.abs(a[rows] - b[rows]).max(axis=1) > 0


def test_lazy_adam_moves_only_the_steps_own_users():
    before, after_1, after_2, rows_1, rows_2 = _two_steps(lazy_from=1)
    assert not set(rows_1) & set(rows_2)
    assert _moved(before, after_1, rows_1).all() and _moved(after_1, after_2, rows_2).all()
    assert not _moved(after_1, after_2, rows_1).any()  # step 2 leaves step 1's users alone


def test_dense_adam_keeps_moving_earlier_users_on_their_momentum():
    before, after_1, after_2, rows_1, _ = _two_steps(lazy_from=0)
    assert _moved(after_1, after_2, rows_1).all()  # what the lazy table saves: every row, every step
    lazy_before, lazy_after_1, *_ = _two_steps(lazy_from=1)
    np.testing.assert_array_equal(lazy_before, before)  # the same start and the same first gradients
    # the lazy table's learning rate is 1 / (1 - beta1) = 10 times the rest's: its one step stands for the momentum's.
    # Paddle's row-sparse kernel adds epsilon to sqrt(v) unscaled, which weighs on this tiny model's ~1e-6 gradients
    dense_move, lazy_move = after_1[rows_1] - before[rows_1], lazy_after_1[rows_1] - before[rows_1]
    assert (np.sign(lazy_move) == np.sign(dense_move)).all()
    assert (5 * np.abs(dense_move) < np.abs(lazy_move)).all() and (
        np.abs(lazy_move) <= 10.01 * np.abs(dense_move)
    ).all()


def test_a_lazy_run_resumes_from_its_checkpoint_refits_warm_and_is_reported(tmp_path):
    ds = tiny_dataset()
    split = temporal_split(ds.interactions)
    config = load_config(**{**SMALL, "lazy_user_ids_from": 1, "patience": 5})
    first = train(ds, split, load_config(**{**vars(config), "epochs": 1}), tmp_path)
    resumed = train(ds, split, load_config(**{**vars(config), "epochs": 2}), tmp_path, resume=True)
    assert [row["epoch"] for row in resumed.curve] == [1, 2] and resumed.curve[0] == first.curve[0]
    served = refit(ds, config, 1, tmp_path, start_from=resumed.model)
    loaded = TwoTowerModel.load(tmp_path / "model")
    np.testing.assert_array_equal(loaded.net.user_id.weight.numpy(), served.net.user_id.weight.numpy())
    assert user_id_updates(resumed.model) == "lazy Adam (a step's own rows)"
    assert user_id_updates(train(ds, split, load_config(**SMALL, epochs=1), tmp_path / "dense").model) == (
        "dense Adam"  # 40 users: below the default
    )

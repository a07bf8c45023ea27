"""Rounds (early stopping inside long epochs), the early-stopping user sample and the refit length rule."""

import numpy as np
import pytest

from recommender.ml.config import load_config
from recommender.ml.encoder import FeatureEncoder
from recommender.ml.sequences import Sequences
from recommender.ml.split import temporal_split
from recommender.ml.train import EpochPlan, cut_steps, early_stopping_split, refit_epochs, train
from tests.recommender.ml.fixtures import SMALL, tiny_dataset

pytestmark = pytest.mark.slow(reason="trains the tiny two-tower model with Paddle")
SMALL = {**SMALL, "batch_size": 4}


@pytest.fixture(scope="module")
def data():
    ds = tiny_dataset()
    return ds, temporal_split(ds.interactions)


def _plan(data, **overrides) -> EpochPlan:
    ds, split = data
    config = load_config(**{**SMALL, **overrides})
    encoder = FeatureEncoder.fit(ds.catalog, split.train, max_title_tokens=4, max_history=10, min_token_count=1)
    return EpochPlan(Sequences(ds, split.train, encoder, config), config, epoch=1)


def test_rounds_cover_every_batch_once_and_end_on_the_target_count(data):
    plan = _plan(data)
    size = max(1, plan.total // 3)
    rounds = list(plan.rounds(size))
    assert [share for share, _ in rounds][-1] == 1.0 and len(rounds) >= 2
    seen = np.concatenate([np.concatenate(batches) for _, batches in rounds])
    assert sorted(seen.tolist()) == list(range(len(plan.windows["user"])))  # every window exactly once
    for share, batches in rounds[:-1]:  # every round but the last reaches the size, by at most one batch
        targets = sum(int((plan.windows["target"][b] >= 0).sum()) for b in batches)
        assert size <= targets < size + max(plan.targets)
        assert 0 < share < 1


def test_a_round_larger_than_the_epoch_is_the_epoch(data):
    plan = _plan(data)
    assert [(share, len(batches)) for share, batches in plan.rounds(10**9)] == [(1.0, len(plan.batches))]


def test_early_stopping_reads_a_fixed_sample_of_users(data):
    _, split = data
    users = np.unique(split.test.user_ids)
    config = load_config(eval_users=3)
    watched = early_stopping_split(split, config)
    assert len(np.unique(watched.test.user_ids)) == 3 and watched.train is split.train
    again = early_stopping_split(split, config)
    assert np.array_equal(np.unique(again.test.user_ids), np.unique(watched.test.user_ids))
    assert early_stopping_split(split, load_config(eval_users=0)) is split
    assert early_stopping_split(split, load_config(eval_users=len(users))) is split


def test_refit_length_is_at_least_one_epoch_and_enough_targets():
    warm = load_config(refit_targets=200_000)
    assert refit_epochs(warm, 80_000, best_epoch=16) == 3  # ML-100K-sized: three passes
    assert refit_epochs(warm, 1_000_000, best_epoch=3.25) == 1  # ML-1M-sized: one pass reaches it
    scratch = load_config(refit_targets=0)
    assert refit_epochs(scratch, 1_000_000, best_epoch=3.25) == 3
    assert refit_epochs(scratch, 10, best_epoch=0.25) == 1


def test_training_evaluates_after_every_round(data, tmp_path):
    ds, split = data
    seen = []
    result = train(
        ds, split, load_config(epochs=2, patience=100, eval_every=40, **SMALL), tmp_path, on_epoch=seen.append
    )
    epochs = [row["epoch"] for row in seen]
    assert len(seen) > 2 and epochs == sorted(epochs) and epochs[-1] == 2.0  # fractional epochs, ending at 2
    assert any(0 < e < 1 for e in epochs) and 1.0 in epochs
    assert result.best_epoch in epochs and result.curve == seen


def test_cut_steps_splits_only_steps_above_the_cap_and_never_a_window():
    targets = np.array([200] * 32 + [50] * 8 + [300])
    batches = [np.arange(32), np.arange(32, 40), np.array([40])]
    cut = cut_steps(batches, targets, 4096)
    assert [len(rows) for rows in cut] == [16, 16, 8, 1]  # 6,400 targets -> 2 steps; 400 and one 300-target window stay
    assert sorted(np.concatenate(cut).tolist()) == list(range(41))  # every window once
    assert [len(rows) for rows in cut_steps([np.arange(3)], targets, 1)] == [1, 1, 1]  # down to single windows


def test_step_targets_cut_the_sampled_softmax_steps_only(data):
    sampled = _plan(data, full_softmax_max_movies=0, step_targets=12)
    assert sorted(np.concatenate(sampled.batches).tolist()) == list(range(len(sampled.windows["user"])))
    uncut = _plan(data, full_softmax_max_movies=0, step_targets=0)
    assert len(sampled.batches) > len(uncut.batches) and max(sampled.targets) < max(uncut.targets)
    cut = {tuple(rows) for rows in cut_steps(uncut.batches, (uncut.windows["target"] >= 0).sum(axis=1), 12)}
    assert {tuple(rows) for rows in sampled.batches} == cut  # the same windows and the same cut, in the epoch's order
    full = _plan(data, step_targets=12)  # a full softmax's cost per target does not grow with the step: not cut
    assert [b.tolist() for b in full.batches] == [b.tolist() for b in _plan(data).batches]

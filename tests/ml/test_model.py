"""The two-tower model: encoder round-trip, one-epoch smoke training, save/load, OOV, NaN guard, resume."""

import json

import numpy as np
import pytest

from recommender.ml.config import load_config
from recommender.ml.data import Catalog, Users
from recommender.ml.encoder import FeatureEncoder, title_tokens, user_histories, year_bucket
from recommender.ml.model import TwoTowerModel
from recommender.ml.split import temporal_split
from recommender.ml.train import Sequences, TrainingDiverged, refit, train
from tests.ml.fixtures import SMALL, tiny_dataset

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def data():
    ds = tiny_dataset()
    return ds, temporal_split(ds.interactions)


@pytest.fixture(scope="module")
def trained(data, tmp_path_factory):
    ds, split = data
    out = tmp_path_factory.mktemp("run")
    seen = []
    result = train(ds, split, load_config(epochs=1, **SMALL), out, on_epoch=seen.append)
    return result, out, seen


def test_title_tokens_and_year_bucket():
    assert title_tokens("Shawshank Redemption, The (1994)") == ["shawshank", "redemption", "the"]
    assert year_bucket(np.array([0, 1900, 1919, 1920, 1995, 2030])).tolist() == [0, 1, 1, 2, 17, 22]


def test_encoder_round_trip(data):
    ds, split = data
    enc = FeatureEncoder.fit(ds.catalog, split.train, max_title_tokens=4, max_history=5, min_token_count=1)
    back = FeatureEncoder.from_dict(json.loads(json.dumps(enc.to_dict())))
    a, b = enc.encode_movies(ds.catalog), back.encode_movies(ds.catalog)
    for name in vars(a):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    hist = user_histories(split.train, ds.users.user_ids)
    ua, ub = enc.encode_users(ds.users, hist), back.encode_users(ds.users, hist)
    for name in vars(ua):
        np.testing.assert_array_equal(getattr(ua, name), getattr(ub, name))
    assert ua.history.shape == (len(ds.users), 5)
    assert (ua.history_mask[:, -1] == 1).all()  # the most recent rating sits last, padding on the left
    # a user with two ratings reads [pad, pad, start, first, second]; ratings ride along, the start token has none
    one_user = ds.users.select(ds.users.user_ids[:1])
    two = enc.encode_users(one_user, [(ds.catalog.movie_ids[[3, 1]], np.array([4.0, 2.0]))])
    assert two.history[0].tolist() == [0, 0, enc.start_token, *enc.movie_index(ds.catalog.movie_ids[[3, 1]])]
    assert two.history_rating[0].tolist() == [0, 0, 0, 4, 2] and two.history_mask[0].tolist() == [0, 0, 1, 1, 1]
    # a long history keeps its newest max_history entries and loses the start token
    long = enc.encode_users(one_user, [(ds.catalog.movie_ids[:9], np.full(9, 3.0))])
    assert long.history[0].tolist() == enc.movie_index(ds.catalog.movie_ids[4:9]).tolist()


def test_one_epoch_smoke(trained):
    result, out, seen = trained
    assert [row["epoch"] for row in seen] == [1] and set(seen[0]) == {
        "epoch",
        "epochs",
        "loss",
        "val_ndcg@10",
        "seconds",
    }
    assert np.isfinite(seen[0]["loss"]) and result.best_epoch == 1
    assert 0 <= result.val_metrics["ndcg@10"] <= 1
    assert (out / "holdout" / "model.json").exists() and (out / "checkpoint.pdparams").exists()


def test_vectors_are_unit_and_save_load_identical(data, trained, tmp_path):
    ds, split = data
    model = trained[0].model
    hist = user_histories(split.train, ds.users.user_ids)
    movies, users = model.movie_vectors(ds.catalog), model.user_vectors(ds.users, hist)
    assert movies.shape == (len(ds.catalog), 256) and users.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(movies, axis=1), 1.0, rtol=1e-5)
    model.save(tmp_path / "m")
    loaded = TwoTowerModel.load(tmp_path / "m")
    np.testing.assert_array_equal(loaded.movie_vectors(ds.catalog), movies)
    np.testing.assert_array_equal(loaded.user_vectors(ds.users, hist), users)


def test_a_model_saved_before_the_training_rounds_still_loads(data, trained, tmp_path):
    """Saved by the previous trainer: a retired training-only key (refit_epochs) and no eval_every/eval_users."""
    ds, split = data
    model = trained[0].model
    model.save(tmp_path / "old")
    meta_path = tmp_path / "old" / TwoTowerModel.META
    meta = json.loads(meta_path.read_text())
    for key in ("eval_every", "eval_users", "refit_targets"):
        del meta["config"][key]
    meta["config"]["refit_epochs"] = 3
    meta_path.write_text(json.dumps(meta))
    loaded = TwoTowerModel.load(tmp_path / "old")
    np.testing.assert_array_equal(loaded.movie_vectors(ds.catalog), model.movie_vectors(ds.catalog))
    assert loaded.config.eval_users == load_config().eval_users
    meta["config"]["pooling"] = "mean"  # a key of an older network design is still refused
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="older model design"):
        TwoTowerModel.load(tmp_path / "old")


def test_unknown_user_and_movie_use_oov_buckets(data, trained):
    ds, _ = data
    model = trained[0].model
    new_movies = Catalog(np.array([999_001, 999_002]), ["Brand New (2024)", "Other (2024)"], [["Drama"], []],
                         np.array([2024, 0], dtype=np.int32))  # fmt: skip
    vecs = model.movie_vectors(new_movies)
    assert np.isfinite(vecs).all() and vecs.shape == (2, 256)
    newcomer = Users(np.array([777_777, 777_777]), ["F", "F"], np.array([25, 25], np.int32), np.array([3, 3], np.int32))
    rated = (ds.catalog.movie_ids[:3], np.array([5.0, 4.0, 5.0], np.float32))
    none = (np.zeros(0, np.int64), np.zeros(0, np.float32))
    u = model.user_vectors(newcomer, [none, rated])
    assert np.isfinite(u).all()
    assert not np.allclose(u[0], u[1])  # a new rating changes the vector without retraining


def test_nan_guard(data, tmp_path, monkeypatch):
    from recommender.ml import train as train_module

    real_loss = train_module.batch_loss
    monkeypatch.setattr(train_module, "batch_loss", lambda *args: real_loss(*args) * float("nan"))
    ds, split = data
    with pytest.raises(TrainingDiverged, match="loss became nan at epoch 1, step 0"):
        train(ds, split, load_config(epochs=1, **SMALL), tmp_path)


def test_resume_from_checkpoint(data, tmp_path):
    ds, split = data
    first = train(ds, split, load_config(epochs=1, patience=5, **SMALL), tmp_path)
    assert len(first.curve) == 1
    resumed = train(ds, split, load_config(epochs=2, patience=5, **SMALL), tmp_path, resume=True)
    assert [row["epoch"] for row in resumed.curve] == [1, 2]
    assert resumed.curve[0] == first.curve[0]


def test_on_epoch_may_abort(data, tmp_path):
    ds, split = data

    def stop(row):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(ds, split, load_config(epochs=3, **SMALL), tmp_path, on_epoch=stop)


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


def test_full_softmax_loss_is_cross_entropy_over_the_catalogue(data):
    import paddle
    import paddle.nn.functional as F

    from recommender.ml.train import batch_loss

    ds, split = data
    config = load_config(**{**SMALL, "movie_id_dropout": 0.0, "user_id_dropout": 0.0, "dropout": 0.0})
    enc = FeatureEncoder.fit(ds.catalog, split.train, max_history=config.max_history, min_token_count=1)
    model = TwoTowerModel.build(enc, config)
    seqs = Sequences(ds, split.train, enc, config)
    rng = np.random.default_rng(0)
    windows = seqs.windows(rng)
    batch = seqs.batch(windows, np.arange(6), rng)
    model.net.eval()
    loss = float(batch_loss(model.net, batch, config))
    # the same thing written plainly: each target's user vector against every movie vector
    states = model.net.history_states(*[paddle.to_tensor(a) for a in batch["history"]]).numpy()
    b, length, _ = states.shape
    static = model.net.static_features(*[paddle.to_tensor(a) for a in batch["user"]]).numpy()
    pos = batch["positions"]
    users = model.net.user_head(
        paddle.to_tensor(static[pos // length]), paddle.to_tensor(states.reshape(b * length, -1)[pos])
    )
    movies = paddle.to_tensor(model.movie_vectors(ds.catalog))
    labels = seqs.target[windows["target"][:6][:, -length:][windows["target"][:6][:, -length:] >= 0]]
    expected = float(F.cross_entropy(users @ movies.T / config.temperature, paddle.to_tensor(labels).unsqueeze(1)))
    assert loss == pytest.approx(expected, rel=1e-4)


def test_sampled_negatives_are_corrected_and_never_the_label(data):
    ds, split = data
    config = load_config(**{**SMALL, "negatives": 5})
    enc = FeatureEncoder.fit(ds.catalog, split.train, max_history=config.max_history, min_token_count=1)
    seqs = Sequences(ds, split.train, enc, config)
    rng = np.random.default_rng(0)
    negatives, log_q = seqs.negatives(rng)
    assert 1 <= len(negatives) <= 5 and (log_q < 0).all()
    batch = seqs.batch(seqs.windows(rng), np.arange(4), rng)
    assert batch["accidental"].shape == (len(batch["label_col"]), len(batch["negative_col"]))
    labels = batch["label_col"][:, None] == batch["negative_col"][None, :]
    np.testing.assert_array_equal(batch["accidental"], labels)  # a negative equal to the label is masked


def test_user_state_reads_only_the_past(data, trained):
    """Causal attention: changing a later history entry leaves the earlier positions' states unchanged."""
    import paddle

    ds, split = data
    model = trained[0].model
    model.net.eval()
    hist = user_histories(split.train, ds.users.user_ids[:2])
    feats = model.encoder.encode_users(ds.users.select(ds.users.user_ids[:2]), hist)
    tensors = [paddle.to_tensor(a) for a in (feats.history, feats.history_rating, feats.history_mask)]
    before = model.net.history_states(*tensors).numpy()
    feats.history[:, -1] = (feats.history[:, -1] % (len(model.encoder.movie_ids) - 1)) + 1
    feats.history_rating[:, -1] = 1
    tensors = [paddle.to_tensor(a) for a in (feats.history, feats.history_rating, feats.history_mask)]
    after = model.net.history_states(*tensors).numpy()
    np.testing.assert_allclose(after[:, :-1], before[:, :-1], atol=1e-5)
    assert not np.allclose(after[:, -1], before[:, -1])


def test_refit_learns_every_rating(data, tmp_path):
    """The served model is fitted on the held-out ratings too: a movie rated only there has its own id."""
    ds, split = data
    only_recent = np.setdiff1d(split.test.movie_ids, split.train.movie_ids)
    model = refit(ds, load_config(**SMALL), 1, tmp_path)
    assert (tmp_path / "model" / "model.json").exists()
    assert set(model.encoder.user_ids.tolist()) == set(ds.interactions.user_ids.tolist())
    assert (model.encoder.movie_index(np.unique(ds.interactions.movie_ids)) > 0).all()
    if len(only_recent):
        holdout_encoder = FeatureEncoder.fit(ds.catalog, split.train)
        assert (holdout_encoder.movie_index(only_recent) == 0).all()


def test_warm_refit_starts_from_the_holdout_weights_row_by_id(data, trained, tmp_path):
    from recommender.ml.train import transfer_weights

    ds, split = data
    holdout = trained[0].model
    bigger = TwoTowerModel.build(
        FeatureEncoder.fit(ds.catalog, ds.interactions, max_history=10, min_token_count=holdout.config.min_token_count),
        holdout.config,
    )
    transfer_weights(holdout, bigger)
    known = holdout.encoder.movie_ids
    old_rows, new_rows = holdout.encoder.movie_index(known), bigger.encoder.movie_index(known)
    np.testing.assert_array_equal(
        bigger.net.movie_id.weight.numpy()[new_rows], holdout.net.movie_id.weight.numpy()[old_rows]
    )
    np.testing.assert_array_equal(  # the start token moved to the end of the larger history table
        bigger.net.history.weight.numpy()[bigger.encoder.start_token],
        holdout.net.history.weight.numpy()[holdout.encoder.start_token],
    )
    np.testing.assert_array_equal(bigger.net.user_mlp[0].weight.numpy(), holdout.net.user_mlp[0].weight.numpy())
    model = refit(ds, holdout.config, 1, tmp_path, start_from=holdout)
    assert (tmp_path / "model" / "model.json").exists() and np.isfinite(model.movie_vectors(ds.catalog)).all()


def test_training_runs_in_a_thread_left_in_static_graph_mode(data, tmp_path):
    """Paddle's graph mode is per thread, and a new thread inherits the mode last set: with the main thread
    switched to static mode (as a library or an earlier test may leave it), a new thread still trains."""
    import threading

    import paddle

    ds, split = data
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["static_at_start"] = not paddle.in_dynamic_mode()
            outcome["result"] = train(ds, split, load_config(epochs=1, **SMALL), tmp_path)
        except Exception as exc:  # reported below
            outcome["error"] = exc

    paddle.enable_static()
    try:
        thread = threading.Thread(target=run)
        thread.start()
        thread.join(timeout=120)
    finally:
        paddle.disable_static()
    assert outcome.get("static_at_start") is True  # the situation under test really arose
    assert "error" not in outcome, outcome.get("error")
    assert outcome["result"].best_epoch == 1

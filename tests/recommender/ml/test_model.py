"""The two-tower model: encoder round-trip, one-epoch smoke training, save/load, OOV, NaN guard, resume."""

import json

import numpy as np
import pytest

from recommender.ml.config import load_config
from recommender.ml.data import Catalog, Users
from recommender.ml.encoder import FeatureEncoder, rating_index, title_tokens, user_histories, year_bucket
from recommender.ml.model import TwoTowerModel
from recommender.ml.split import temporal_split
from recommender.ml.train import TrainingDiverged, refit, train
from tests.recommender.ml.fixtures import SMALL, tiny_dataset

pytestmark = pytest.mark.slow(reason="trains the tiny two-tower model with Paddle (epochs, resume, refit)")


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
    assert enc.rating_levels == 5, "trained on whole stars: whole-star levels (no embedding row left untrained)"
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


@pytest.mark.parametrize(
    ("scores", "levels", "expected"),
    [
        ([0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0], 10, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
        ([1, 2, 3, 4, 5], 10, [2, 4, 6, 8, 10]),  # whole stars keep their order, every other index
        ([0.0, 0.2, 5.4, 7.0], 10, [1, 1, 10, 10]),  # out of range: clipped
        ([1.0, 2.0, 3.0, 4.0, 5.0, 0.5, 4.4], 5, [1, 2, 3, 4, 5, 1, 4]),  # a model trained on whole stars
        ([1.5, 2.5, 3.5, 4.5], 5, [2, 3, 4, 5]),  # ... reads a half star as the star above (half up, not to even)
    ],
)
def test_rating_index_keeps_half_stars(scores, levels, expected):
    assert rating_index(np.array(scores, dtype=np.float32), levels).tolist() == expected


def test_the_encoder_keeps_half_star_levels_only_when_the_training_ratings_have_half_stars(data):
    from recommender.ml.data import Interactions

    ds, split = data
    train = split.train
    halves = Interactions(train.user_ids, train.movie_ids, np.where(np.arange(len(train)) % 7, train.scores, 3.5),
                          train.timestamps)  # fmt: skip
    whole = FeatureEncoder.fit(ds.catalog, train)
    half = FeatureEncoder.fit(ds.catalog, halves)
    assert (whole.rating_levels, whole.sizes["ratings"]) == (5, 6)
    assert (half.rating_levels, half.sizes["ratings"]) == (10, 11)
    assert half.ratings(np.array([0.5, 3.5, 5.0])).tolist() == [1, 7, 10]


def test_a_model_saved_with_whole_star_ratings_loads_and_reads_whole_stars(data, trained, tmp_path):
    """Saved before half stars: 6 rating rows and no rating_levels in its encoder; it loads with 6 rows and rounds
    scores to whole stars, as it was trained."""
    import paddle

    ds, split = data
    old = TwoTowerModel.build(FeatureEncoder.from_dict({**trained[0].model.encoder.to_dict(), "rating_levels": 5}),
                              trained[0].model.config)  # fmt: skip
    assert old.net.history_rating.weight.shape[0] == 6
    old.save(tmp_path / "old")
    meta_path = tmp_path / "old" / TwoTowerModel.META
    meta = json.loads(meta_path.read_text())
    del meta["encoder"]["rating_levels"]  # the older encoder never wrote one
    meta_path.write_text(json.dumps(meta))
    loaded = TwoTowerModel.load(tmp_path / "old")
    assert loaded.net.history_rating.weight.shape[0] == 6 and loaded.encoder.rating_levels == 5
    np.testing.assert_array_equal(paddle.load(str(tmp_path / "old" / TwoTowerModel.WEIGHTS))["history_rating.weight"],
                                  loaded.net.history_rating.weight.numpy())  # fmt: skip
    one = ds.users.select(ds.users.user_ids[:1])
    assert loaded.encoder.encode_users(one, [(ds.catalog.movie_ids[:2], np.array([3.5, 5.0]))]).history_rating[
        0, -2:].tolist() == [4, 5]  # fmt: skip
    hist = user_histories(split.train, ds.users.user_ids)
    np.testing.assert_array_equal(loaded.user_vectors(ds.users, hist), old.user_vectors(ds.users, hist))


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

"""The two-tower model: encoder round-trip, one-epoch smoke training, save/load, OOV, NaN guard, resume."""

import json

import numpy as np
import pytest

from recommender.ml.config import load_config
from recommender.ml.data import Catalog, Users
from recommender.ml.encoder import FeatureEncoder, title_tokens, user_histories, year_bucket
from recommender.ml.model import TwoTowerModel
from recommender.ml.split import temporal_split
from recommender.ml.train import TrainingDiverged, train
from tests.ml.fixtures import tiny_dataset

pytestmark = pytest.mark.slow
SMALL = {"id_dim": 8, "genre_dim": 4, "title_dim": 8, "history_dim": 8, "hidden_dim": 32, "batch_size": 64,
         "max_history": 10}  # fmt: skip


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
    assert (ua.history_weight[:, -1] > 0).all()  # the most recent rating sits last, padding on the left


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
    assert (out / "model" / "model.json").exists() and (out / "checkpoint.pdparams").exists()


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
    assert model.predicted_ratings(users, movies) is None  # default config has no rating head


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


def test_config_rejects_unknown_keys(tmp_path):
    (tmp_path / "c.toml").write_text("batch_size = 32\n")
    assert load_config(tmp_path / "c.toml", seed=3).batch_size == 32
    with pytest.raises(ValueError, match="unknown config keys: nope"):
        load_config(nope=1)


def test_training_curve_png(trained, tmp_path):
    from recommender.ml.plot import plot_training_curve

    path = plot_training_curve(trained[0].curve, tmp_path / "curve.png", title="v1")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

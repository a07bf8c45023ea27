"""The training loss by catalogue size: the full softmax over the catalogue, the logQ-corrected sampled softmax
(labels, in-batch and uniform negatives, accidental hits masked) checked by hand, and training on the sampled path."""

import numpy as np
import pytest

from recommender.ml.config import load_config
from recommender.ml.encoder import FeatureEncoder
from recommender.ml.model import TwoTowerModel
from recommender.ml.sequences import Sequences, log_inclusion
from recommender.ml.split import temporal_split
from recommender.ml.train import loss_name, train
from tests.recommender.ml.fixtures import SMALL, tiny_dataset

pytestmark = pytest.mark.slow(reason="trains the tiny two-tower model with Paddle on the sampled path")


@pytest.fixture(scope="module")
def data():
    ds = tiny_dataset()
    return ds, temporal_split(ds.interactions)


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


def test_the_loss_follows_the_catalogue_size(data):
    """Full softmax up to full_softmax_max_movies movies (the whole catalogue, no correction), sampled above it: the
    movie tower reads only the step's targets and shared draws, each with its log inclusion probability."""
    ds, split = data
    enc = FeatureEncoder.fit(ds.catalog, split.train, max_history=SMALL["max_history"], min_token_count=1)
    m = len(ds.catalog)
    full = Sequences(ds, split.train, enc, load_config(**{**SMALL, "full_softmax_max_movies": m}))
    rng = np.random.default_rng(0)
    batch = full.batch(full.windows(rng), np.arange(4), rng)
    assert not full.sampled and "log_q" not in batch and len(batch["movies"][0]) == m
    config = load_config(**{**SMALL, "full_softmax_max_movies": m - 1, "negatives": 3})
    seqs = Sequences(ds, split.train, enc, config)
    rng = np.random.default_rng(0)
    windows = seqs.windows(rng)
    batch = seqs.batch(windows, np.arange(4), rng)
    targets = windows["target"][:4]
    labels = seqs.target[targets[targets >= 0]]
    classes = np.flatnonzero(np.isin(np.arange(m), labels))  # the labels' rows, plus at most 3 shared draws
    assert seqs.sampled and len(np.unique(labels)) <= len(batch["movies"][0]) <= len(np.unique(labels)) + 3
    rows = batch["movies"][2]  # title tokens identify the rows the movie tower reads
    assert set(map(tuple, seqs.movies.title[classes])) <= set(map(tuple, rows))
    np.testing.assert_array_equal(seqs.movies.title[np.unique(labels)][np.searchsorted(np.unique(labels), labels)],
                                  rows[batch["label_col"]])  # fmt: skip
    assert batch["log_q"].shape == (len(rows),) and (batch["log_q"] <= 0).all()


def test_sampled_softmax_loss_by_hand():
    """Classes = labels ∪ shared draws, one column each; logit = cos / T - log q; a label drawn again (by another
    position or the shared sample) is its own column, never a negative; q = 1 - (1-p)^P (1-1/M)^N."""
    import paddle

    from recommender.ml.sequences import log_inclusion
    from recommender.ml.train import sampled_softmax_loss

    m, temperature = 10, 0.5
    labels, shared = np.array([3, 3, 5]), np.array([5, 7, 7])  # 3 twice in the batch, 5 also drawn as a negative
    p = np.full(m, 0.1)
    classes = np.union1d(labels, shared)  # [3, 5, 7]
    log_q = log_inclusion(p[classes], len(labels), len(shared), m)
    q = 1 - 0.9**3 * 0.9**3
    np.testing.assert_allclose(np.exp(log_q), [q, q, q], rtol=1e-6)
    rng = np.random.default_rng(1)
    users, movies = rng.normal(size=(3, 4)).astype("float32"), rng.normal(size=(3, 4)).astype("float32")
    label_col, negative_col = np.searchsorted(classes, labels), np.arange(len(classes))  # every class a negative
    label_at = 1 + label_col  # so every label is its negative column
    tensors = map(paddle.to_tensor, (users, movies, label_col, negative_col, label_at, log_q))
    loss = float(sampled_softmax_loss(*tensors, temperature))
    # written out over every drawn column (in-batch labels, then shared draws): a movie drawn again is masked, so
    # a draw of the label is never a negative and each negative counts once
    drawn = np.concatenate([labels, shared])
    first = np.array([np.argmax(drawn == d) for d in drawn])  # the column of each movie's first draw
    expected = []
    for i, label in enumerate(labels):
        logits = users[i] @ movies[np.searchsorted(classes, drawn)].T / temperature - np.log(q)
        logits = np.where(first == np.arange(len(drawn)), logits, -np.inf)  # accidental hits and repeats masked
        expected.append(np.log(np.exp(logits).sum()) - logits[np.argmax(drawn == label)])
    assert loss == pytest.approx(np.mean(expected), rel=1e-5)


def test_sampled_softmax_with_fewer_negatives_than_classes_by_hand():
    """in_batch_negatives caps the negatives drawn from the step's labels: a label left out of the negatives is
    still its row's positive; a negative equal to the row's label is masked for that row only."""
    import paddle

    from recommender.ml.train import sampled_softmax_loss

    temperature = 0.5
    rng = np.random.default_rng(2)
    users, movies = rng.normal(size=(3, 4)).astype("float32"), rng.normal(size=(4, 4)).astype("float32")
    log_q = np.log(np.array([0.5, 0.25, 0.4, 0.1], dtype="float32"))
    label_col, negative_col = np.array([0, 1, 3]), np.array([1, 2])  # classes 0 and 3 are labels only
    label_at = np.array([0, 1, 0])  # row 1's label is negative 0
    tensors = map(paddle.to_tensor, (users, movies, label_col, negative_col, label_at, log_q))
    loss = float(sampled_softmax_loss(*tensors, temperature))
    expected = []
    for i, label in enumerate(label_col):
        columns = [label] + [c for c in negative_col if c != label]  # row 1's label is negative 1: masked
        logits = users[i] @ movies[columns].T / temperature - log_q[columns]
        expected.append(np.log(np.exp(logits).sum()) - logits[0])
    assert loss == pytest.approx(np.mean(expected), rel=1e-5)


def test_capped_in_batch_negatives_draw_from_the_steps_labels(data):
    ds, split = data
    enc = FeatureEncoder.fit(ds.catalog, split.train, max_history=SMALL["max_history"], min_token_count=1)
    m = len(ds.catalog)
    config = load_config(**{**SMALL, "full_softmax_max_movies": 0, "negatives": 2, "in_batch_negatives": 3})
    seqs = Sequences(ds, split.train, enc, config)
    labels = np.array([5, 5, 6, 7, 8, 9, 10, 11])
    classes, negatives, log_q = seqs.classes(labels, np.random.default_rng(0))
    assert set(labels) <= set(classes) and set(negatives) <= set(classes)
    assert len(negatives) <= 3 + 2 and len(classes) == len(np.union1d(labels, negatives))
    np.testing.assert_allclose(log_q, log_inclusion(seqs.target_p[classes], 3, 2, m))
    uncapped = Sequences(ds, split.train, enc, load_config(**{**config.__dict__, "in_batch_negatives": 0}))
    classes, negatives, _ = uncapped.classes(labels, np.random.default_rng(0))
    np.testing.assert_array_equal(classes, negatives)  # every label is a negative, as before the cap


def test_a_batch_points_each_position_at_its_labels_logit(data):
    """label_at: 0 (the row's own column) when the label is not among the negatives, else 1 + its negative."""
    ds, split = data
    enc = FeatureEncoder.fit(ds.catalog, split.train, max_history=SMALL["max_history"], min_token_count=1)
    config = load_config(**{**SMALL, "full_softmax_max_movies": 0, "negatives": 1, "in_batch_negatives": 2})
    seqs = Sequences(ds, split.train, enc, config)
    rng = np.random.default_rng(0)
    windows = seqs.windows(rng)
    batch = seqs.batch(windows, np.arange(4), rng)
    rows = batch["movies"][2]  # title tokens identify the classes' rows
    label_rows, negative_rows = rows[batch["label_col"]], rows[batch["negative_col"]]
    for i, at in enumerate(batch["label_at"]):
        same = (negative_rows == label_rows[i]).all(axis=1)
        assert at == (1 + int(np.flatnonzero(same)[0]) if same.any() else 0)
    assert (batch["label_at"] == 0).any()  # with 3 negatives, some labels are not among them


def test_training_with_the_sampled_softmax(data, tmp_path):
    """A catalogue above full_softmax_max_movies trains end to end with the sampled softmax."""
    ds, split = data
    result = train(ds, split, load_config(epochs=1, full_softmax_max_movies=0, negatives=4, **SMALL), tmp_path)
    assert np.isfinite(result.curve[0]["loss"]) and 0 <= result.val_metrics["ndcg@10"] <= 1


def test_the_training_report_names_the_loss_as_configured():
    config = {"full_softmax_max_movies": 100, "negatives": 1024, "in_batch_negatives": 0}
    assert loss_name(100, load_config(**config)) == "full softmax"
    assert loss_name(101, load_config(**config, step_targets=4096)) == (
        "sampled softmax (all in-batch + 1024 uniform negatives, logQ-corrected, steps above 4,096 targets cut)"
    )
    assert loss_name(101, load_config(**{**config, "in_batch_negatives": 512}, step_targets=0)) == (
        "sampled softmax (512 in-batch + 1024 uniform negatives, logQ-corrected)"
    )

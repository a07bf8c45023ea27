"""Inference gives the same vectors from any thread, static-graph threads included (issue #11).

Paddle keeps its graph mode per thread, and a new thread starts in the mode of the last switch made by any
thread: once the main thread has called paddle.enable_static(), every thread started after it is static, and
the network failed there ("float(Tensor) is not supported in static graph mode", "must be Value, but got
EagerParamBase"), as a web thread once did.
"""

import threading

import numpy as np
import paddle
import pytest

from recommender.ml.config import load_config
from recommender.ml.encoder import FeatureEncoder, user_histories
from recommender.ml.model import TwoTowerModel
from recommender.ml.split import temporal_split
from tests.recommender.ml.fixtures import tiny_dataset

SMALL = {"id_dim": 8, "genre_dim": 4, "title_dim": 8, "history_dim": 8, "hidden_dim": 32, "max_history": 10,
         "threads": 1}  # fmt: skip


@pytest.fixture(scope="module")
def setup():
    ds = tiny_dataset()
    split = temporal_split(ds.interactions)
    encoder = FeatureEncoder.fit(ds.catalog, split.train, max_title_tokens=4, max_history=5, min_token_count=1)
    model = TwoTowerModel.build(encoder, load_config(**SMALL))  # random weights: enough to compare outputs
    histories = user_histories(split.train, ds.users.user_ids)
    expected = model.movie_vectors(ds.catalog), model.user_vectors(ds.users, histories)
    return ds, histories, model, expected


@pytest.fixture
def main_thread_static():
    """The main thread switches to static mode (so threads started now are static too), and back afterwards."""
    paddle.enable_static()
    try:
        yield
    finally:
        paddle.disable_static()
    assert paddle.in_dynamic_mode()


def in_threads(work, n: int, *, enable_static_first: bool = False) -> list:
    """Run work() in n new threads at once; each thread's result or its exception."""
    barrier, results = threading.Barrier(n), [None] * n

    def run(i):
        # Each thread takes its mode before any starts working: a thread that first touches Paddle while another
        # is inside a dynamic-mode section inherits that (Paddle copies the last switch into new threads).
        if enable_static_first:
            paddle.enable_static()
        paddle.in_dynamic_mode()
        barrier.wait()
        try:
            results[i] = work()
        except Exception as exc:  # noqa: BLE001 - reported by the test
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def vectors(ds, histories, model):
    static_before = not paddle.in_dynamic_mode()
    out = model.movie_vectors(ds.catalog), model.user_vectors(ds.users, histories)
    assert paddle.in_dynamic_mode() is not static_before  # the thread's own mode is left as it was
    return static_before, out


def assert_same(results, expected, *, static: bool) -> None:
    for result in results:
        assert not isinstance(result, Exception), repr(result)
        was_static, (movies, users) = result
        assert was_static is static
        np.testing.assert_allclose(movies, expected[0], rtol=0, atol=1e-6)
        np.testing.assert_allclose(users, expected[1], rtol=0, atol=1e-6)


def test_vectors_from_new_threads_match_the_main_thread(setup):
    ds, histories, model, expected = setup
    assert_same(in_threads(lambda: vectors(ds, histories, model), 4), expected, static=False)
    # enable_static() inside a thread started in dynamic mode: Paddle leaves that thread dynamic; still correct
    results = in_threads(lambda: vectors(ds, histories, model), 2, enable_static_first=True)
    assert_same(results, expected, static=False)


@pytest.mark.usefixtures("main_thread_static")
def test_vectors_from_static_mode_threads_match_the_main_thread(setup):
    ds, histories, model, expected = setup
    assert_same(in_threads(lambda: vectors(ds, histories, model), 4), expected, static=True)
    assert_same([vectors(ds, histories, model)], expected, static=True)  # the static main thread itself


def test_model_loaded_in_a_static_mode_thread_gives_the_same_vectors(setup, tmp_path):
    """The serving registry loads the live model in whichever web thread asks first."""
    ds, histories, model, expected = setup
    model.save(tmp_path)
    paddle.enable_static()
    try:
        results = in_threads(lambda: vectors(ds, histories, TwoTowerModel.load(tmp_path)), 2)
    finally:
        paddle.disable_static()
    assert_same(results, expected, static=True)

"""What the console of `make run` shows (issue #27): one line per state change, not one per request.

The parts, each in-process: the latch that logs a state once (the popularity fallback), the django.request filter
that keeps 4xx answers off the console, the training's epoch lines (at most one every few seconds), the "live"
line with its NDCG@10 beside the best baseline, the Celery workers logging through the settings' LOGGING, and
LightGBM's negative-category warning gone at its source. tests/core/test_serve_all_quiet.py runs them together.
"""

import logging
import time

import numpy as np
import pytest
from django.contrib.auth import get_user_model
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils.log import log_response

from core.quiet import ServerErrorsOnly, StateLatch
from recommender import serving
from recommender.services import recommendations, training, vectors
from recommender.serving import NoLiveModel
from recommender.vectorstore import VectorStoreError


def messages(caplog, logger: str) -> list[tuple[int, str]]:
    return [(r.levelno, r.getMessage()) for r in caplog.records if r.name == logger]


def test_a_state_is_logged_when_it_begins_and_ends_not_each_time(caplog):
    latch = StateLatch(logging.getLogger("test.latch"))
    with caplog.at_level(logging.INFO, logger="test.latch"):
        assert latch.leave("over") is False  # nothing began
        assert [latch.enter("a", "began %s", 1) for _ in range(3)] == [True, False, False]
        assert latch.enter("b", "other %s", 2, level=logging.WARNING) is True  # another reason: said again
        assert [latch.leave("over") for _ in range(2)] == [True, False]
    assert messages(caplog, "test.latch") == [(20, "began 1"), (30, "other 2"), (20, "over")]


@pytest.fixture
def fallback():
    serving.fallback.state = None  # per process: start from "serving a model"
    yield serving.fallback
    serving.fallback.state = None


def test_fallback_reasons_are_logged_once_each_and_the_end_once(fallback, caplog):
    with caplog.at_level(logging.INFO, logger="recommender.serving"):
        for _ in range(5):
            serving.fallback_enter(NoLiveModel("no collection is live in Milvus"))
        serving.fallback_enter(VectorStoreError("vector store http://x down"))
        serving.fallback_enter(VectorStoreError("vector store http://x down: breaker open for 4 s"))  # same state
        for _ in range(3):
            serving.fallback_leave(7)
    assert messages(caplog, "recommender.serving") == [
        (logging.INFO, "serving popular movies until a model is live (no collection is live in Milvus)"),
        (
            logging.WARNING,
            "serving popular movies: the vector store is unavailable (vector store http://x down)",
        ),
        (logging.INFO, "serving model v7's suggestions (popular movies until now)"),
    ]


@pytest.mark.django_db
def test_page_views_without_a_live_model_log_one_line_in_all(fallback, monkeypatch, caplog):
    def no_model(user):
        raise NoLiveModel("no collection is live in Milvus")

    monkeypatch.setattr(recommendations, "user_state", no_model)
    user = get_user_model().objects.create_user("watcher", password="watcher-password-1")
    with caplog.at_level(logging.DEBUG):
        for _ in range(4):  # the home page: "for you" and its genre rows, each a fallback
            recommendations.recommend_home(user=user, k=10, rows=3, row_k=5)
            assert recommendations.recommend_for_user(user=user, k=5).fallback is True
    said = [r for r in caplog.records if r.levelno >= logging.INFO and r.name.startswith("recommender")]
    assert [r.getMessage() for r in said] == [
        "serving popular movies until a model is live (no collection is live in Milvus)"
    ]


def test_4xx_answers_stay_off_the_console_5xx_do_not(caplog):
    request = RequestFactory().get("/api/movies/?page_size=0")
    with caplog.at_level(logging.WARNING):
        for status in (400, 401, 403, 404, 429):
            log_response("%s: %s", "Client error", request.path, response=HttpResponse(status=status), request=request)
        log_response("%s: %s", "Internal Server Error", request.path, response=HttpResponse(status=500),
                     request=request)  # fmt: skip
    assert [(r.name, r.status_code) for r in caplog.records] == [("django.request", 500)]
    assert any(isinstance(f, ServerErrorsOnly) for f in logging.getLogger("django.request").filters)
    bare = logging.LogRecord("django.request", logging.ERROR, __file__, 1, "an exception", None, None)
    assert ServerErrorsOnly().filter(bare) is True  # a record with no status is kept


def test_epoch_lines_come_at_most_every_few_seconds(monkeypatch, caplog):
    clock = iter([0.0, 1.0, 2.0, 3.0, 6.5, 7.0, 12.0])  # the reporter's start, then one reading per epoch

    class Clock:  # the training module's own view of time only: time.monotonic stays real for everything else
        def __getattr__(self, name):
            return getattr(time, name)

        @staticmethod
        def monotonic():
            return next(clock)

    monkeypatch.setattr(training, "time", Clock())
    monkeypatch.setattr(training, "_save", lambda version, **fields: None)

    class Version:
        number, curve = 3, []

    on_epoch = training._progress_reporter(Version(), "training", None)
    with caplog.at_level(logging.INFO, logger="recommender.services.training"):
        for epoch in range(1, 7):
            on_epoch({"epoch": epoch, "epochs": 6, "loss": 0.5 / epoch, "val_ndcg@10": 0.01 * epoch})
    lines = [m for _, m in messages(caplog, "recommender.services.training")]
    assert lines == [  # epoch 1 at once, then 4 (6.5 s) and 6 (12 s): 5 s apart at least
        "model v3 training: epoch 1/6, loss 0.5000, NDCG@10 0.0100, about 5 s left",
        "model v3 training: epoch 4/6, loss 0.1250, NDCG@10 0.0400, about 3 s left",
        "model v3 training: epoch 6/6, loss 0.0833, NDCG@10 0.0600, about 0 s left",
    ]
    assert training._epoch_line({"epoch": 2.5, "epochs": 10, "loss": 1.0}, 600.0) == (
        "epoch 2.5/10, loss 1.0000, about 10 min left"  # the refit's rows have no NDCG
    )


def test_the_live_line_puts_ndcg_beside_the_best_baseline():
    metrics = {"model": {"ndcg@10": 0.0812}, "baselines": {"popularity": {"ndcg@10": 0.0655},
                                                            "als": {"ndcg@10": 0.0701}, "random": {}}}  # fmt: skip
    assert vectors._ndcg_beside_baseline(metrics) == ", NDCG@10 0.0812 vs best baseline 0.0701 (als)"
    assert vectors._ndcg_beside_baseline({"model": {"ndcg@10": 0.05}}) == ", NDCG@10 0.0500"
    assert vectors._ndcg_beside_baseline({}) == ""  # a version never evaluated (train_model --no-eval, old rows)


def test_celery_workers_log_through_the_settings_with_their_own_loggers_at_the_worker_level():
    from celery.signals import after_setup_logger

    from recommender import tasks

    assert tasks._logging_as_configured in [ref() for _, ref in after_setup_logger.receivers]
    celery_logger, level = logging.getLogger("celery"), logging.getLogger("celery").level
    try:
        after_setup_logger.send(
            sender=None, logger=logging.getLogger(), loglevel=logging.WARNING, logfile=None, format="", colorize=False
        )
        assert celery_logger.level == logging.WARNING
        assert logging.getLogger("recommender.services.training").getEffectiveLevel() <= logging.INFO
    finally:
        celery_logger.setLevel(level)


def test_lightgbm_fits_unknown_occupations_without_its_negative_category_warning(capfd):
    from recommender.ml import ranker

    rng = np.random.default_rng(0)
    movies = 60
    context = ranker.RankContext(
        movie_ids=np.arange(1, movies + 1), popularity=rng.random(movies).astype(np.float32),
        years=np.full(movies, 1999, np.float32), genres=(rng.random((movies, 4)) < 0.3).astype(np.float32),
        neighbour_rows=rng.integers(-1, movies, (movies, 5)),
        neighbour_scores=rng.random((movies, 5)).astype(np.float32),
    )  # fmt: skip
    groups = []
    for user in range(40):
        candidates = rng.permutation(movies)[:50]
        user_facts = ("MF"[user % 2], 25, -1 if user % 3 else 4)  # -1: occupation unknown (datasets without it)
        features = context.features(candidates, np.sort(rng.random(50))[::-1], rng.integers(0, movies, 8), user_facts)
        groups.append((features, (rng.random(50) < 0.1).astype(np.int32)))
    capfd.readouterr()
    ranker._fit(groups, seed=0, threads=4)  # warned from LightGBM's OpenMP threads, which verbose=-1 does not reach
    assert "negative value in categorical" not in capfd.readouterr().out

    raw = [(np.where(np.isnan(x), -1.0, x).astype(np.float32), y) for x, y in groups]  # -1 as before the fix
    ranker._fit(raw, seed=0, threads=4)
    assert "negative value in categorical" in capfd.readouterr().out  # so the check above means something


def test_json_logs_carry_the_same_events(settings, fallback, caplog):
    """LOG_FORMAT=json: the same records through the settings' JSON formatter, one object a line."""
    import json
    import logging.config

    formatter = logging.config.DictConfigurator(settings.LOGGING).configure_formatter(
        settings.LOGGING["formatters"]["json"]
    )
    with caplog.at_level(logging.INFO, logger="recommender.serving"):
        serving.fallback_enter(NoLiveModel("no collection is live in Milvus"))
        serving.fallback_leave(2)
    lines = [json.loads(formatter.format(record)) for record in caplog.records]
    assert [(line["level"], line["logger"], line["message"]) for line in lines] == [
        (
            "INFO",
            "recommender.serving",
            "serving popular movies until a model is live (no collection is live in Milvus)",
        ),
        ("INFO", "recommender.serving", "serving model v2's suggestions (popular movies until now)"),
    ]

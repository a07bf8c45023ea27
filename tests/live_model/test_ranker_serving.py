"""The second stage as served: with a ranker saved beside the live version, every path (the API, a filtered
request, the home page, ranking given movies, batch_recommend) returns the ranker's order of the tower's hits.

The ranker here is fitted by hand to put recent movies first, so its order visibly differs from the tower's; it
is removed after each test (the package's version keeps whatever its own pipeline decided)."""

import json
from pathlib import Path

import numpy as np
import pytest
from django.core.cache import cache
from django.core.management import call_command

from movies.models import Movie, Profile
from movies.selectors import user_history
from movies.services import rating_upsert
from recommender.ml.data import Users, lookup
from recommender.ml.neighbours import ItemNeighbours
from recommender.ml.ranker import CONTEXT_FILE, MODEL_FILE, REPORT_FILE, RankContext, fit_ranker
from recommender.services.candidates import search
from recommender.services.dataset import dataset_export
from recommender.services.recommendations import rank_for_user, recommend_for_user, recommend_home
from recommender.services.user_state import POOL
from recommender.serving import live_model, registry
from tests.factories import UserFactory

pytestmark = [
    pytest.mark.slow(reason="the package trains a tiny model once (train_model) and serves it from Milvus Lite"),
    pytest.mark.django_db,
]


def _drop(directory: Path) -> None:
    for name in (MODEL_FILE, CONTEXT_FILE, REPORT_FILE):
        (directory / name).unlink(missing_ok=True)
    registry.reset()
    cache.clear()


@pytest.fixture
def newest_first(trained):
    """A ranker that learned "the newest movies of the candidates are the relevant ones", saved with v1."""
    directory = Path(trained.artifact_path)
    dataset = dataset_export()
    context = RankContext.build(dataset.catalog, dataset.interactions, ItemNeighbours.load(directory))
    rng = np.random.default_rng(0)
    n, m = 300, len(dataset.catalog)
    candidates = np.stack([rng.choice(m, 30, replace=False) for _ in range(n)])
    scores = np.sort(rng.random((n, 30)), axis=1)[:, ::-1].astype(np.float32)
    relevant = [c[np.argsort(-context.years[c], kind="stable")[:5]] for c in candidates]
    users = Users(np.arange(n), ["M"] * n, np.full(n, 25), np.full(n, 1))
    ranker, report = fit_ranker(context, users, candidates, scores, [np.array([0])] * n, relevant, threads=1)
    assert report.keep
    ranker.save(directory, report)
    registry.reset()
    cache.clear()
    yield
    _drop(directory)


@pytest.fixture
def fan(trained):
    user = UserFactory(username="ranked-fan", gender="F", age=25, occupation=3)
    for movie_id in (4, 10, 16):
        rating_upsert(user=user, movie_id=movie_id, score=5)
    return user


def ids(result):
    return [item.movie.pk for item in result.items]


def by_ranker(hits, history) -> list[int]:
    """(movie id, tower score) hits in the live ranker's order, asked of the ranker itself."""
    ranker = live_model().ranker
    rows = lookup(ranker.context.movie_ids, np.array([m for m, _ in hits]))
    tower = np.array([s for _, s in hits], dtype=np.float32)
    ordered, _ = ranker.order(rows, tower, lookup(ranker.context.movie_ids, np.array(history)), ("F", 25, 3))
    return ranker.context.movie_ids[ordered].tolist()


def expected(user, *, k, genre=None, fetch=POOL):
    """(the ranker's order, the tower's order) of the user's Milvus hits."""
    live = live_model()
    history = user_history(user_id=user.pk)
    vector = live.user_vector(user_id=user.pk, gender="F", age=25, occupation=3, history=history)
    hits = search(live, vector, k=fetch, excluded=set(history[0]), genre=genre)
    ranked = by_ranker(hits, history[0])[:k] if live.ranker is not None else None
    return ranked, [m for m, _ in hits][:k]


def years(movie_ids):
    by_id = dict(Movie.objects.filter(pk__in=movie_ids).values_list("id", "year"))
    return [by_id[m] for m in movie_ids]


def test_the_api_path_serves_the_rankers_order_of_the_pool(newest_first, fan):
    result = recommend_for_user(user=fan, k=10)
    ranked, tower = expected(fan, k=10)
    assert live_model().ranker is not None
    assert ids(result) == ranked != tower
    # what it learned shows: the first picks are newer than the tower's first picks
    assert np.mean(years(ids(result))[:5]) > np.mean(years(tower)[:5])
    assert result.items[0].score >= result.items[-1].score  # the ranker's scores, best first


def test_a_filtered_request_and_the_home_rows_are_ranked_too(newest_first, fan):
    comedy = recommend_for_user(user=fan, k=5, genre="Comedy")
    ranked, tower = expected(fan, k=5, genre="Comedy", fetch=50)
    assert ids(comedy) == ranked != tower
    home = recommend_home(user=fan, k=5, rows=0, row_k=3)
    ranked, tower = expected(fan, k=5)
    assert ids(home.for_you) == ranked != tower


def test_ranking_given_movies_uses_the_ranker(newest_first, fan):
    given = [20, 30, 40, 50, 60, 7]
    result = rank_for_user(user=fan, movie_ids=given)
    live = live_model()
    history = user_history(user_id=fan.pk)
    vector = live.user_vector(user_id=fan.pk, gender="F", age=25, occupation=3, history=history)
    tower = sorted(zip(given, (live.vectors_for(given) @ vector).tolist(), strict=True), key=lambda h: -h[1])
    assert ids(result) == by_ranker(tower, history[0]) != [m for m, _ in tower]


def test_batch_recommend_writes_what_the_api_serves(newest_first, trained, tmp_path):
    output = tmp_path / "recs.jsonl"
    call_command("batch_recommend", "--k", "8", "--output", str(output), "--users", "3", "7", verbosity=0)
    rows = {row["user_id"]: row["items"] for row in map(json.loads, output.read_text().splitlines())}
    for movielens_id in (3, 7):
        profile = Profile.objects.get(movielens_id=movielens_id)
        served = ids(recommend_for_user(user=profile.user, k=8))
        assert rows[movielens_id] == served
        live, history = live_model(), user_history(user_id=profile.user_id)
        vector = live.user_vector(user_id=profile.user_id, gender=profile.gender, age=profile.age,
                                  occupation=profile.occupation, history=history)  # fmt: skip
        tower = [m for m, _ in search(live, vector, k=8, excluded=set(history[0]))]
        assert served != tower


def test_a_damaged_ranker_file_serves_the_towers_order(trained, fan, caplog):
    directory = Path(trained.artifact_path)
    try:
        (directory / MODEL_FILE).write_text("not a LightGBM model\n")
        registry.reset()
        cache.clear()
        result = recommend_for_user(user=fan, k=10)
        assert result.fallback is False and live_model().ranker is None
        assert ids(result) == expected(fan, k=10)[1]
        assert "ranker not loaded" in caplog.text
    finally:
        _drop(directory)

"""The recommendation service against the package's real tiny model and real Milvus Lite: freshness (the one
service-level test of it; the end-to-end one is in test_api.py), cold start, fallback, similar movies."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import override_settings

from movies.models import Profile, Rating
from movies.services import rating_delete, rating_upsert
from recommender.services.batch import candidates_recall
from recommender.services.recommendations import rank_for_user, recommend_for_user, similar_movies
from recommender.serving import registry
from recommender.vectorstore import reset_vector_store
from tests.factories import UserFactory

pytestmark = [
    pytest.mark.slow(reason="the package trains a tiny model once (train_model) and serves it from Milvus Lite"),
    pytest.mark.django_db,
]


@pytest.fixture
def newcomer(trained):
    return UserFactory(username="newcomer")


def ids(result):
    return [item.movie.pk for item in result.items]


def test_rated_movies_are_never_returned_and_each_item_has_a_reason(trained):
    user = Profile.objects.get(movielens_id=7).user
    rated = set(Rating.objects.filter(user=user).values_list("movie_id", flat=True))
    result = recommend_for_user(user=user, k=10)
    assert result.fallback is False and result.model_version == trained.number
    assert len(ids(result)) == 10 and not rated & set(ids(result))
    assert all(item.because is not None and item.because.pk in rated for item in result.items)
    scores = [item.score for item in result.items]
    assert scores == sorted(scores, reverse=True)


def test_a_new_rating_changes_the_very_next_answer(newcomer):
    rating_upsert(user=newcomer, movie_id=1, score=5)
    first = recommend_for_user(user=newcomer, k=10)
    assert first.fallback is False and 1 not in ids(first)
    top = ids(first)[0]
    rating_upsert(user=newcomer, movie_id=top, score=1)
    second = recommend_for_user(user=newcomer, k=10)
    assert top not in ids(second) and ids(second) != ids(first)
    rating_delete(user=newcomer, movie_id=top)
    third = recommend_for_user(user=newcomer, k=10)
    assert ids(third) == ids(first)  # back to the same history: the same answer, nothing stale


def test_cold_start(newcomer):
    anonymous = recommend_for_user(user=AnonymousUser(), k=5)
    assert anonymous.fallback is False and len(anonymous.items) == 5  # popular is the answer, not a fallback
    blank = recommend_for_user(user=newcomer, k=5)
    assert blank.fallback is True and "no ratings" in blank.fallback_reason
    assert ids(blank) == ids(anonymous)
    Profile.objects.filter(user=newcomer).update(gender="F", age=25, occupation=4)
    demo = recommend_for_user(user=newcomer, k=5)
    assert demo.fallback is False and len(demo.items) == 5  # served from demographics alone


def test_filters_explore_and_diversity(newcomer):
    rating_upsert(user=newcomer, movie_id=2, score=5)
    drama = recommend_for_user(user=newcomer, k=5, genre="Drama", year_min=1970, year_max=1995)
    assert len(drama.items) == 5 and all(  # six Drama movies of 1970-1995 in the tiny catalogue
        "Drama" in [g.name for g in i.movie.genres.all()] and 1970 <= i.movie.year <= 1995 for i in drama.items
    )
    diverse = recommend_for_user(user=newcomer, k=6, max_per_genre=1)
    firsts = [i.movie.genres.all()[0].name for i in diverse.items]
    assert len(firsts) == len(set(firsts))
    explored = recommend_for_user(user=newcomer, k=10, explore=0.5)
    assert len(explored.items) == 10 and 2 not in ids(explored)


def test_unreachable_store_falls_back_to_popularity(newcomer):
    rating_upsert(user=newcomer, movie_id=1, score=5)
    with override_settings(MILVUS_URI="http://127.0.0.1:9", MILVUS_TIMEOUT=1.0):
        reset_vector_store()
        registry.reset()
        try:
            result = recommend_for_user(user=newcomer, k=5)
            similar = similar_movies(movie_id=1, k=3)
        finally:
            reset_vector_store()
            registry.reset()
    assert result.fallback is True and result.items and 1 not in ids(result)
    assert similar.fallback is True and 1 not in ids(similar)


def test_similar_rank_and_recall(trained, newcomer):
    similar = similar_movies(movie_id=3, k=4)
    assert similar.fallback is False and len(similar.items) == 4 and 3 not in ids(similar)
    rating_upsert(user=newcomer, movie_id=3, score=5)
    ranked = rank_for_user(user=newcomer, movie_ids=[9, 15, 21, 5])
    assert sorted(ids(ranked)) == [5, 9, 15, 21]
    assert [i.score for i in ranked.items] == sorted((i.score for i in ranked.items), reverse=True)
    lists = candidates_recall(histories=[[1, 7, 13], [2]], top_k=5)
    assert [len(x) for x in lists] == [5, 5]
    assert not {1, 7, 13} & set(lists[0]) and 2 not in lists[1]


def test_similar_movies_blend_co_ratings_with_vectors(trained):
    """Each similar movie is a co-rated neighbour or a nearest vector; the co-rated ones take part."""
    from recommender.vectorstore import get_vector_store

    live = registry.get()
    assert live.neighbours is not None  # saved beside the served model by the pipeline
    for movie_id in (3, 8, 20):
        co_rated = [m for m, _ in live.neighbours.of(movie_id)]
        vector = live.vectors_for([movie_id])[0]
        nearest = [m for m, _ in get_vector_store().search(vector, k=50, exclude_ids=[movie_id])]
        similar = ids(similar_movies(movie_id=movie_id, k=6))
        assert movie_id not in similar and len(similar) == 6
        assert set(similar) <= set(co_rated) | set(nearest)
        assert set(similar) & set(co_rated[:6])


def test_warm_up_loads_the_live_model_before_any_request(trained, caplog):
    from recommender.serving import warm_up

    registry.reset()
    with caplog.at_level("INFO", logger="recommender.serving"):
        warm_up()
    assert f"warm-up: model v{trained.number} ready" in caplog.text
    registry.reset()
    reset_vector_store()
    with override_settings(MILVUS_URI="http://127.0.0.1:9", MILVUS_TIMEOUT=1.0), caplog.at_level("INFO"):
        warm_up()  # nothing reachable: it says so and returns, the worker still starts
    assert "warm-up: nothing to load yet" in caplog.text
    reset_vector_store()
    registry.reset()


def test_a_slow_live_version_check_holds_up_only_its_own_request(trained):
    """The registry asks Milvus outside its lock: while one request waits on a slow answer, others are served."""
    import threading
    import time

    from recommender import serving

    live = registry.get()  # loaded and known
    started, release = threading.Event(), threading.Event()

    class SlowStore:  # answers like the real one, after the test lets it
        def live_version(self):
            started.set()
            release.wait(10)
            return live.version.number

    registry._checked_at = 0.0  # the next call is due to ask Milvus
    waiting = threading.Thread(target=lambda: registry.get(SlowStore()))
    waiting.start()
    assert started.wait(5)
    t0 = time.monotonic()
    assert registry.get() is live  # not due: the known model, at once
    assert time.monotonic() - t0 < 0.5
    release.set()
    waiting.join(10)
    assert serving.live_model() is live

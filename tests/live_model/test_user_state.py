"""The cached suggestion state (recommender/services/user_state.py) against the package's real tiny model and
Milvus Lite: a repeat request asks Milvus nothing, and every kind of write makes the very next request recompute."""

import pytest
from django.contrib import admin
from django.core.cache import cache
from django.test import override_settings

from movies.models import HiddenMovie, Profile, Rating
from movies.services import (
    feed_changed,
    movie_hide,
    movie_unhide,
    profile_update,
    rating_delete,
    rating_restore,
    rating_upsert,
)
from recommender.services.recommendations import recommend_for_user, recommend_home
from recommender.services.user_state import STATE_FORMAT, user_state
from recommender.vectorstore import get_vector_store
from tests.factories import UserFactory

pytestmark = [
    pytest.mark.slow(reason="the package trains a tiny model once (train_model) and serves it from Milvus Lite"),
    pytest.mark.django_db,
]


@pytest.fixture
def searches(monkeypatch):
    """Every Milvus search this test makes (the real store, counted)."""
    store = get_vector_store()
    real, calls = store.search_many, []
    monkeypatch.setattr(store, "search_many", lambda *a, **kw: calls.append(kw.get("genres")) or real(*a, **kw))
    return calls


@pytest.fixture
def fan(trained):
    user = UserFactory(username="state-fan")
    for movie_id in (4, 10, 16):  # horror in the tiny catalogue
        rating_upsert(user=user, movie_id=movie_id, score=5)
    return user


def ids(result):
    return [item.movie.pk for item in result.items]


def test_a_repeat_request_reuses_the_state_and_asks_milvus_nothing(fan, searches):
    first = recommend_for_user(user=fan, k=10)
    assert len(searches) == 1 and first.fallback is False
    again = recommend_for_user(user=fan, k=5)
    home = recommend_home(user=fan, k=5, rows=0, row_k=3)
    assert len(searches) == 1  # both cut from the cached pool
    assert ids(again) == ids(first)[:5] == ids(home.for_you)


def test_a_filtered_request_searches_with_the_cached_vector(fan, searches):
    recommend_for_user(user=fan, k=10)
    comedy = recommend_for_user(user=fan, k=3, genre="Comedy")
    assert searches == [None, ["Comedy"]]
    assert all("Comedy" in {g.name for g in item.movie.genres.all()} for item in comedy.items)


def _recomputed(user, searches) -> bool:
    before = len(searches)
    recommend_for_user(user=user, k=10)
    return len(searches) == before + 1


def test_every_write_makes_the_next_request_recompute(fan, searches):
    top = ids(recommend_for_user(user=fan, k=10))

    rated, _ = rating_upsert(user=fan, movie_id=top[0], score=4)
    assert _recomputed(fan, searches) and top[0] not in ids(recommend_for_user(user=fan, k=10))
    rating_delete(user=fan, movie_id=top[0])
    assert _recomputed(fan, searches)
    rating_restore(user=fan, movie_id=top[0], score=4, rated_at=rated.rated_at, replacing=None)
    assert _recomputed(fan, searches)

    shown = ids(recommend_for_user(user=fan, k=10))
    movie_hide(user=fan, movie_id=shown[0])
    assert _recomputed(fan, searches) and shown[0] not in ids(recommend_for_user(user=fan, k=10))
    movie_unhide(user=fan, movie_id=shown[0])
    assert _recomputed(fan, searches) and shown[0] in ids(recommend_for_user(user=fan, k=10))

    profile_update(user=fan, gender="F", age=25, occupation=3)  # demographics are part of the key
    assert _recomputed(fan, searches)
    feed_changed(user_ids=[fan.pk])  # e.g. an import that touched this user's ratings
    assert _recomputed(fan, searches)
    assert not _recomputed(fan, searches)  # and nothing else does


def test_admin_edits_of_ratings_and_hidden_movies_make_the_next_request_recompute(fan, searches, rf):
    recommend_for_user(user=fan, k=10)
    rating = Rating.objects.get(user=fan, movie_id=4)
    rating.score = 1
    admin.site._registry[Rating].save_model(rf.post("/"), rating, None, True)
    assert _recomputed(fan, searches)
    hidden = HiddenMovie.objects.create(user=fan, movie_id=2, created_at=rating.rated_at)
    admin.site._registry[HiddenMovie].delete_queryset(rf.post("/"), HiddenMovie.objects.filter(pk=hidden.pk))
    assert _recomputed(fan, searches)
    admin.site._registry[Rating].delete_model(rf.post("/"), rating)
    assert _recomputed(fan, searches)


def test_a_state_of_another_model_version_is_not_used(fan):
    live, state = user_state(fan)
    stamp = Profile.objects.get(user=fan).feed_version
    key = f"user-state:{STATE_FORMAT}:{fan.pk}:{stamp}::None:None"
    assert cache.get(key) is not None
    state.model, state.pool = (live.version.number + 1, "movies_v999"), []
    cache.set(key, state)  # as if computed while another version served
    assert ids(recommend_for_user(user=fan, k=3))  # recomputed for the version that serves now


def test_a_state_cached_by_older_code_is_never_read(fan, searches):
    """A deploy that changes UserState's fields bumps STATE_FORMAT: what older processes cached (here: the format
    before the ranker's demographics, under its key) is not under the new key, so no request unpickles it."""
    stamp = Profile.objects.get(user=fan).feed_version
    cache.set(f"user-state:{fan.pk}:{stamp}::None:None", object())  # the key of format 1, no format in it
    assert ids(recommend_for_user(user=fan, k=3)) and len(searches) == 1  # computed afresh


@override_settings(RECS_CACHE_SECONDS=0)
def test_caching_can_be_turned_off(fan, searches):
    recommend_for_user(user=fan, k=10)
    recommend_for_user(user=fan, k=10)
    assert len(searches) == 2


def test_a_user_without_a_profile_is_computed_every_time(trained, searches):
    user = UserFactory(username="no-profile")
    Profile.objects.filter(user=user).delete()
    rating_upsert(user=user, movie_id=4, score=5)
    assert recommend_for_user(user=user, k=5).fallback is False
    recommend_for_user(user=user, k=5)
    assert len(searches) == 2

"""movie_hide / movie_unhide are idempotent and race-safe; rating_restore undoes one rating change exactly."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.exceptions import ApplicationError
from movies.models import HiddenMovie, Movie, Rating
from movies.selectors import hidden_movie_ids, movie_list, user_hidden_movies
from movies.services import movie_hide, movie_unhide, rating_delete, rating_restore, rating_upsert

pytestmark = pytest.mark.django_db


@pytest.fixture
def user():
    return get_user_model().objects.create_user("alice", password="pw-alice-123")


@pytest.fixture
def other():
    return get_user_model().objects.create_user("bob", password="pw-bob-123")


@pytest.fixture
def movies():
    return [
        Movie.objects.create(id=1, title="Godfather, The (1972)", year=1972, rating_count=10, rating_total=45),
        Movie.objects.create(id=2, title="Toy Story (1995)", year=1995, rating_count=8, rating_total=32),
        Movie.objects.create(id=3, title="Heat (1995)", year=1995, rating_count=5, rating_total=20),
    ]


def test_hide_twice_keeps_one_row_and_unhide_twice_is_harmless(user, movies):
    first, created = movie_hide(user=user, movie_id=1)
    again, created_again = movie_hide(user=user, movie_id=1)
    assert created is True and created_again is False and again.pk == first.pk
    assert HiddenMovie.objects.filter(user=user).count() == 1
    assert hidden_movie_ids(user_id=user.pk) == {1}

    assert movie_unhide(user=user, movie_id=1) is True
    assert movie_unhide(user=user, movie_id=1) is False
    assert hidden_movie_ids(user_id=user.pk) == set()


def test_hiding_is_per_user(user, other, movies):
    movie_hide(user=user, movie_id=2)
    movie_hide(user=other, movie_id=3)
    assert hidden_movie_ids(user_id=user.pk) == {2}
    assert movie_unhide(user=user, movie_id=3) is False  # Bob's row is not Alice's to remove
    assert hidden_movie_ids(user_id=other.pk) == {3}


def test_unknown_movie_is_refused_with_a_message(user):
    with pytest.raises(ApplicationError, match="movie 99 does not exist") as caught:
        movie_hide(user=user, movie_id=99)
    assert caught.value.extra == {"field": "movie_id"}
    assert not HiddenMovie.objects.exists()


def test_the_database_keeps_one_row_per_user_and_movie(user, movies):
    HiddenMovie.objects.create(user=user, movie_id=1, created_at=timezone.now())
    with pytest.raises(IntegrityError), transaction.atomic():
        HiddenMovie.objects.create(user=user, movie_id=1, created_at=timezone.now())


def test_a_hide_raced_by_an_identical_request_returns_the_row_it_lost_to(user, movies, monkeypatch):
    """PostgreSQL's race, made deterministic: the lookup misses a row another request committed just after it."""
    from django.db.models.query import QuerySet

    winner, _ = movie_hide(user=user, movie_id=1)
    real_first, missed = QuerySet.first, []

    def first_missing_once(queryset):
        if queryset.model is HiddenMovie and not missed:
            missed.append(True)
            return None
        return real_first(queryset)

    monkeypatch.setattr(QuerySet, "first", first_missing_once)
    hidden, created = movie_hide(user=user, movie_id=1)
    assert missed and created is False and hidden.pk == winner.pk
    assert HiddenMovie.objects.count() == 1


def test_hidden_list_is_newest_first(user, movies):
    for movie_id in (3, 1, 2):
        movie_hide(user=user, movie_id=movie_id)
    assert [h.movie_id for h in user_hidden_movies(user=user)] == [2, 1, 3]


def test_movie_list_leaves_hidden_movies_out_but_a_search_finds_them_flagged(user, movies):
    movie_hide(user=user, movie_id=1)
    assert [m.pk for m in movie_list(hidden_by=user)] == [2, 3]
    found = list(movie_list(search="the godfather", hidden_by=user))
    assert [(m.pk, m.is_hidden) for m in found] == [(1, True)]
    assert [m.pk for m in movie_list()] == [1, 2, 3]  # anyone else's view is unchanged


def counters(movie_id: int) -> tuple[int, int]:
    movie = Movie.objects.get(pk=movie_id)
    return movie.rating_count, movie.rating_total


def test_restore_undoes_a_first_rating(user, movies):
    rating, _ = rating_upsert(user=user, movie_id=1, score=4)
    assert counters(1) == (11, 49)
    assert rating_restore(user=user, movie_id=1, score=None, rated_at=None, replacing=rating.rated_at) is True
    assert not Rating.objects.filter(user=user).exists() and counters(1) == (10, 45)


def test_restore_puts_back_the_previous_score_and_time(user, movies):
    old, _ = rating_upsert(user=user, movie_id=2, score=2)
    old_time = old.rated_at - timedelta(days=3)
    Rating.objects.filter(pk=old.pk).update(rated_at=old_time)
    new, _ = rating_upsert(user=user, movie_id=2, score=5)
    assert counters(2) == (9, 37)
    assert rating_restore(user=user, movie_id=2, score=2, rated_at=old_time, replacing=new.rated_at) is True
    restored = Rating.objects.get(user=user, movie_id=2)
    assert (restored.score, restored.rated_at) == (2, old_time) and counters(2) == (9, 34)


def test_restore_brings_back_a_removed_rating(user, movies):
    old, _ = rating_upsert(user=user, movie_id=3, score=1)
    rating_delete(user=user, movie_id=3)
    assert counters(3) == (5, 20)
    assert rating_restore(user=user, movie_id=3, score=1, rated_at=old.rated_at, replacing=None) is True
    assert Rating.objects.get(user=user, movie_id=3).score == 1 and counters(3) == (6, 21)


def test_restore_never_overwrites_a_later_change(user, movies):
    first, _ = rating_upsert(user=user, movie_id=1, score=3)
    rating_upsert(user=user, movie_id=1, score=5)  # a newer change than the one the undo was offered for
    assert rating_restore(user=user, movie_id=1, score=None, rated_at=None, replacing=first.rated_at) is False
    assert Rating.objects.get(user=user, movie_id=1).score == 5 and counters(1) == (11, 50)
    # an undo of a removal when the user has rated again meanwhile changes nothing either
    assert rating_restore(user=user, movie_id=1, score=2, rated_at=first.rated_at, replacing=None) is False
    assert counters(1) == (11, 50)


def test_restore_validates_the_score(user, movies):
    rating, _ = rating_upsert(user=user, movie_id=1, score=3)
    with pytest.raises(ApplicationError):
        rating_restore(user=user, movie_id=1, score=9, rated_at=rating.rated_at, replacing=rating.rated_at)
    assert Rating.objects.get(user=user, movie_id=1).score == 3

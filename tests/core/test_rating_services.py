"""rating_upsert / rating_delete keep counters in step, validate input and announce changes after commit."""

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from core.exceptions import ApplicationError
from movies.models import Movie, Rating
from movies.services import profile_update, rating_delete, rating_upsert

pytestmark = pytest.mark.django_db


@pytest.fixture
def user():
    return get_user_model().objects.create_user("alice", password="pw-alice-123")


@pytest.fixture
def movie():
    return Movie.objects.create(id=1, title="Toy Story (1995)", year=1995)


def test_create_change_delete_keep_counters(user, movie):
    rating, created = rating_upsert(user=user, movie_id=1, score=4)
    assert created and rating.score == 4
    movie.refresh_from_db()
    assert (movie.rating_count, movie.rating_total) == (1, 4)

    rating, created = rating_upsert(user=user, movie_id=1, score="2")
    assert not created and rating.score == 2
    movie.refresh_from_db()
    assert (movie.rating_count, movie.rating_total) == (1, 2)
    assert Rating.objects.count() == 1

    assert rating_delete(user=user, movie_id=1) is True
    movie.refresh_from_db()
    assert (movie.rating_count, movie.rating_total) == (0, 0)
    assert rating_delete(user=user, movie_id=1) is False


@pytest.mark.parametrize(
    ("score", "message"),
    [
        (0, "score 0 is not a number from 0.5 to 5 in steps of 0.5"),
        (6, "score 6 is not"),
        (5.5, "score 5.5 is not"),
        (3.25, "score 3.25 is not"),
        (float("nan"), "score nan is not"),
        ("abc", "must be a number from 0.5 to 5"),
        (10**400, "must be a number"),
        (None, "must be a number"),
        (True, "must be a number"),
    ],
)
def test_bad_scores_are_refused_and_nothing_is_written(user, movie, score, message):
    with pytest.raises(ApplicationError, match=message):
        rating_upsert(user=user, movie_id=1, score=score)
    assert Rating.objects.count() == 0
    movie.refresh_from_db()
    assert movie.rating_count == 0


@pytest.mark.parametrize("score", [0.5, 3.5, "4.5", 1, 5.0])
def test_half_stars_are_kept_exactly_with_the_counters(user, movie, score):
    rating, _ = rating_upsert(user=user, movie_id=1, score=score)
    rating.refresh_from_db()
    assert rating.score == float(score)
    other = get_user_model().objects.create_user("bob")
    rating_upsert(user=other, movie_id=1, score=2.5)
    movie.refresh_from_db()
    assert (movie.rating_count, movie.rating_total) == (2, float(score) + 2.5)
    rating_upsert(user=other, movie_id=1, score=1.5)  # a change moves the total by the difference, exactly
    rating_delete(user=user, movie_id=1)
    movie.refresh_from_db()
    assert (movie.rating_count, movie.rating_total) == (1, 1.5)


def test_unknown_movie_is_refused(user):
    with pytest.raises(ApplicationError, match="movie 99 does not exist"):
        rating_upsert(user=user, movie_id=99, score=3)


def test_database_enforces_score_range_and_uniqueness(user, movie):
    from django.utils import timezone

    for bad in (0, 6, 0.25, 3.7, -0.5):
        with pytest.raises(IntegrityError), transaction.atomic():
            Rating.objects.create(user=user, movie=movie, score=bad, rated_at=timezone.now())
    Rating.objects.create(user=user, movie=movie, score=3, rated_at=timezone.now())
    with pytest.raises(IntegrityError), transaction.atomic():
        Rating.objects.create(user=user, movie=movie, score=4, rated_at=timezone.now())


def test_profile_update_validates_choices(user):
    profile = profile_update(user=user, gender="F", age=25, occupation=12)
    assert (profile.gender, profile.age, profile.occupation) == ("F", 25, 12)
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        profile_update(user=user, gender="X", age=25, occupation=12)
    with pytest.raises(ValidationError):
        profile_update(user=user, age=19)


def test_first_rating_raced_by_an_identical_request_updates_the_row_it_lost_to(user, movie, monkeypatch):
    """PostgreSQL's race, made deterministic: the lookup misses a row another request committed just after it."""
    from django.db.models.query import QuerySet

    rating_upsert(user=user, movie_id=1, score=2)  # the request that won the race
    real_first, missed = QuerySet.first, []

    def first_missing_once(queryset):
        if queryset.model is Rating and not missed:
            missed.append(True)
            return None
        return real_first(queryset)

    monkeypatch.setattr(QuerySet, "first", first_missing_once)
    rating, created = rating_upsert(user=user, movie_id=1, score=5)

    assert missed and not created and rating.score == 5
    assert list(Rating.objects.values_list("score", flat=True)) == [5]
    movie.refresh_from_db()
    assert (movie.rating_count, movie.rating_total) == (1, 5)

"""Database constraints on Rating: the score must be 1-5 and a user rates a movie once."""

from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from movies.models import Movie, Rating

pytestmark = pytest.mark.django_db
WHEN = datetime(2000, 12, 31, tzinfo=UTC)


@pytest.fixture
def user_and_movie():
    return get_user_model().objects.create_user(username="viewer"), Movie.objects.create(id=1, title="A (1999)")


@pytest.mark.parametrize("score", [0, 6, 100])
def test_score_outside_1_to_5_is_rejected_by_the_database(user_and_movie, score):
    user, movie = user_and_movie
    with pytest.raises(IntegrityError), transaction.atomic():
        Rating.objects.create(user=user, movie=movie, score=score, rated_at=WHEN)


@pytest.mark.parametrize("score", [1, 5])
def test_scores_at_the_bounds_are_accepted(user_and_movie, score):
    user, movie = user_and_movie
    Rating.objects.create(user=user, movie=movie, score=score, rated_at=WHEN)
    assert Rating.objects.get().score == score


def test_a_second_rating_of_the_same_movie_by_the_same_user_is_rejected(user_and_movie):
    user, movie = user_and_movie
    Rating.objects.create(user=user, movie=movie, score=3, rated_at=WHEN)
    with pytest.raises(IntegrityError), transaction.atomic():
        Rating.objects.create(user=user, movie=movie, score=4, rated_at=WHEN)
    assert Rating.objects.count() == 1

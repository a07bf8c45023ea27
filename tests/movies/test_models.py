"""Database constraints on Rating: the score is 0.5-5 in half stars and a user rates a movie once."""

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


@pytest.mark.parametrize("score", [0, 6, 100, 0.4, 2.75, 5.5])
def test_score_off_the_half_star_scale_is_rejected_by_the_database(user_and_movie, score):
    user, movie = user_and_movie
    with pytest.raises(IntegrityError), transaction.atomic():
        Rating.objects.create(user=user, movie=movie, score=score, rated_at=WHEN)


@pytest.mark.parametrize("score", [0.5, 1, 3.5, 5])
def test_half_and_whole_stars_are_accepted_and_kept_exactly(user_and_movie, score):
    user, movie = user_and_movie
    Rating.objects.create(user=user, movie=movie, score=score, rated_at=WHEN)
    assert Rating.objects.get().score == score


def test_a_second_rating_of_the_same_movie_by_the_same_user_is_rejected(user_and_movie):
    user, movie = user_and_movie
    Rating.objects.create(user=user, movie=movie, score=3, rated_at=WHEN)
    with pytest.raises(IntegrityError), transaction.atomic():
        Rating.objects.create(user=user, movie=movie, score=4, rated_at=WHEN)
    assert Rating.objects.count() == 1

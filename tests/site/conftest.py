"""Small hand-made catalogue for the site tests: 5 genres, 30 movies, three users, a few ratings."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.utils import timezone

from movies.models import Genre, Movie, Profile, Rating
from recommender.services import recommendations
from recommender.serving import NoLiveModel

GENRES = ["Action", "Comedy", "Drama", "Romance", "Sci-Fi"]


@pytest.fixture(autouse=True)
def no_live_model(monkeypatch):
    """No trained model in these tests: the service serves its flagged popularity fallback (no Milvus start)."""

    def _none():
        raise NoLiveModel("no collection is live in Milvus")

    monkeypatch.setattr(recommendations, "live_model", _none)


@pytest.fixture(autouse=True)
def clear_cache():
    """The recommendation service caches movie rows: never let one test's movies leak into the next."""
    cache.clear()
    yield
    cache.clear()


def make_movies(n: int, start: int = 1) -> list[Movie]:
    """Movies start..start+n-1: popularity falls with the id, years 1980+, two genres each (cycling)."""
    genres = {name: Genre.objects.get_or_create(name=name)[0] for name in GENRES}
    movies = []
    for i in range(start, start + n):
        count = 5000 - i * 10
        movie = Movie.objects.create(
            id=i, title=f"Film {i:02d}", year=1980 + i, rating_count=count, rating_total=count * (1 + i % 5)
        )
        movie.genres.set([genres[GENRES[i % 5]], genres[GENRES[(i + 2) % 5]]])
        movies.append(movie)
    return movies


@pytest.fixture
def movies(db) -> list[Movie]:
    return make_movies(30)


def make_user(username: str, **profile):
    user = get_user_model().objects.create_user(username=username, password="pw-for-tests-123")
    Profile.objects.create(user=user, **profile)
    return user


@pytest.fixture
def alice(db):
    return make_user("alice", gender="F", age=25, occupation=12)


@pytest.fixture
def bob(db):
    return make_user("bob", movielens_id=42, gender="M", age=35, occupation=4)


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_superuser(username="staff", password="pw-for-tests-123")


def rate(user, movie, score, days_ago=0) -> Rating:
    return Rating.objects.create(
        user=user, movie=movie, score=score, rated_at=timezone.now() - timedelta(days=days_ago)
    )


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client

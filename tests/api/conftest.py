"""API test fixtures: a handful of movies, four kinds of caller (anonymous, user, another user, staff/service)."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from movies.models import Genre, Movie, Profile
from recommender.api.permissions import SERVICE_GROUP
from recommender.services import recommendations
from recommender.serving import NoLiveModel


def no_live_model():
    raise NoLiveModel("no collection is live in Milvus")


@pytest.fixture
def without_model(monkeypatch):
    """No trained model: services answer with their flagged popularity fallback (no Milvus start)."""
    monkeypatch.setattr(recommendations, "live_model", no_live_model)


@pytest.fixture
def movies(db):
    """Movies 1..12 with two genres each and falling popularity."""
    names = ["Action", "Comedy", "Drama", "Romance"]
    genres = {name: Genre.objects.create(name=name) for name in names}
    made = []
    for i in range(1, 13):
        movie = Movie.objects.create(id=i, title=f"Film {i:02d}", year=1980 + i, rating_count=100 - i, rating_total=300)
        movie.genres.set([genres[names[i % 4]], genres[names[(i + 1) % 4]]])
        made.append(movie)
    return made


def make_user(username: str, *, staff: bool = False, service: bool = False, movielens_id: int | None = None):
    user = get_user_model().objects.create_user(username=username, password="pw-for-tests-123", is_staff=staff)
    Profile.objects.create(user=user, movielens_id=movielens_id)
    if service:
        user.groups.add(Group.objects.get_or_create(name=SERVICE_GROUP)[0])
    return user


def token_client(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


@pytest.fixture
def users(db) -> dict:
    return {
        "user": make_user("alice", movielens_id=1),
        "other": make_user("bob", movielens_id=2),
        "staff": make_user("carol", staff=True),
        "service": make_user("batch-bot", service=True),
    }


@pytest.fixture
def clients(users) -> dict[str, APIClient]:
    """One token-authenticated client per caller kind, plus "anonymous"."""
    return {"anonymous": token_client(None), **{kind: token_client(user) for kind, user in users.items()}}

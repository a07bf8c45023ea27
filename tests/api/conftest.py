"""API test fixtures: a handful of movies, four kinds of caller (anonymous, user, another user, staff/service)."""

import pytest
from rest_framework.test import APIClient

from recommender.serving import NoLiveModel, registry
from tests.factories import MovieFactory, UserFactory, token_client


def no_live_model(*args, **kwargs):
    raise NoLiveModel("no collection is live in Milvus")


@pytest.fixture
def without_model(monkeypatch):
    """No trained model: services answer with their flagged popularity fallback (no Milvus start)."""
    monkeypatch.setattr(registry, "get", no_live_model)  # every caller of live_model() (services, user_state)


@pytest.fixture
def movies(db):
    """Movies 1..12 with two genres each and falling popularity."""
    names = ["Action", "Comedy", "Drama", "Romance"]
    return [
        MovieFactory(id=i, rating_count=100 - i, rating_total=300, genres=[names[i % 4], names[(i + 1) % 4]])
        for i in range(1, 13)
    ]


@pytest.fixture
def users(db) -> dict:
    return {
        "user": UserFactory(username="alice", movielens_id=1),
        "other": UserFactory(username="bob", movielens_id=2),
        "staff": UserFactory(username="carol", staff=True),
        "service": UserFactory(username="batch-bot", service=True),
    }


@pytest.fixture
def clients(users) -> dict[str, APIClient]:
    """One token-authenticated client per caller kind, plus "anonymous"."""
    return {"anonymous": token_client(None), **{kind: token_client(user) for kind, user in users.items()}}


@pytest.fixture
def operator(db) -> APIClient:
    """A token client of the staff user "operator"."""
    return token_client(UserFactory(username="operator", staff=True))

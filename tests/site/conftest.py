"""Small hand-made catalogue for the site tests: 5 genres, 30 movies, three users, a few ratings."""

import pytest
from django.contrib.auth import get_user_model

from movies.models import Movie
from recommender.serving import NoLiveModel, registry
from tests.factories import UserFactory, movies_create


@pytest.fixture(autouse=True)
def no_live_model(monkeypatch):
    """No trained model (the service serves its flagged popularity fallback, no Milvus start); the site with a real
    tiny model is tested in tests/live_model."""

    def _none(*args, **kwargs):
        raise NoLiveModel("no collection is live in Milvus")

    monkeypatch.setattr(registry, "get", _none)  # every caller of live_model() (services, user_state)


@pytest.fixture
def movies(db) -> list[Movie]:
    return movies_create(30)


@pytest.fixture
def alice(db):
    return UserFactory(username="alice", gender="F", age=25, occupation=12)


@pytest.fixture
def bob(db):
    return UserFactory(username="bob", movielens_id=42, gender="M", age=35, occupation=4)


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_superuser(username="staff", password="pw-for-tests-123")


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client

"""Small hand-made catalogue for the site tests: 5 genres, 30 movies, three users, a few ratings; model versions
for the admin's pages and a stand-in for activation."""

import pytest
from django.contrib.auth import get_user_model

from movies.models import Movie
from recommender.models import ModelVersion
from recommender.serving import NoLiveModel, registry
from tests.factories import ModelVersionFactory, UserFactory, movies_create

Status = ModelVersion.Status


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


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def live_and_candidate(db) -> tuple[ModelVersion, ModelVersion]:
    return ModelVersionFactory(number=1, status=Status.ACTIVE), ModelVersionFactory(number=2, quality=1.1)


@pytest.fixture
def activation(monkeypatch) -> list[int]:
    """The database half of an activation (the vector store is not under test here), for the admin and the API;
    records the version numbers it activated."""
    from api import model_versions as api_views
    from recommender.services import training_jobs as jobs

    done = []

    def activate(*, version):
        ModelVersion.objects.filter(status=Status.ACTIVE).update(status=Status.INACTIVE)
        ModelVersion.objects.filter(pk=version.pk).update(status=Status.ACTIVE)
        done.append(version.number)
        return version

    monkeypatch.setattr(jobs, "model_version_activate_checked", activate)
    monkeypatch.setattr(api_views, "model_version_activate_checked", activate)
    return done

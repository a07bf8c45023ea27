"""A tiny catalogue and one trained, active model shared by this package's tests (trained once, seconds)."""

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.management import call_command

from movies.models import Genre, Movie, Rating
from recommender.models import BatchJob, ModelVersion
from recommender.services.vectors import model_version_activate
from recommender.serving import registry
from recommender.vectorstore import get_vector_store, reset_vector_store
from tests.tiny import TINY_TRAIN_CONFIG, tiny_catalogue_create

TINY_TOML = "\n".join(f"{k} = {v}" for k, v in TINY_TRAIN_CONFIG.items()) + "\n"


@pytest.fixture(scope="package")
def tiny_config(tmp_path_factory):
    path = tmp_path_factory.mktemp("config") / "tiny.toml"
    path.write_text(TINY_TOML)
    return str(path)


@pytest.fixture(scope="package")
def trained(django_db_setup, django_db_blocker, tiny_config):
    """The tiny catalogue plus model v1 trained through `train_model` (committed; removed afterwards)."""
    from io import StringIO

    with django_db_blocker.unblock():
        tiny_catalogue_create()
        out = StringIO()
        call_command("train_model", "--config", tiny_config, "--epochs", "3", "--seed", "1", stdout=out, verbosity=0)
        version = ModelVersion.objects.get(number=1)
        if version.status != ModelVersion.Status.ACTIVE:  # the gate may refuse a 3-epoch model: serve it anyway
            model_version_activate(version=version)
        version.refresh_from_db()
        yield version, out.getvalue()
        get_vector_store().drop_all()
        reset_vector_store()
        registry.reset()
        for model in (Rating, BatchJob, ModelVersion, Movie, Genre):
            model.objects.all().delete()
        get_user_model().objects.all().delete()
        cache.clear()

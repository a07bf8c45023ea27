"""One tiny model for this whole package: the tiny catalogue (tests/tiny.py) and model v1 trained once through
`train_model` with TINY_TRAIN_CONFIG and activated by the pipeline's own quality gate (never forced), committed
before the first test here and removed after the last one. Each test runs in a transaction on top of it: the
users, ratings and hidden movies it makes roll back; a test that trains another version removes what it left.

Package scope, not session scope: the committed catalogue (movies 1..60, users ml1..ml40) would otherwise lie
under every later package's tests, which build their own movies 1..n, so the suite would pass or fail with the
order. tests/browser and tests/faults train their own (tiny_model_serving): they need transactional_db, which
empties the database after each test, and the faults a Milvus server process.
"""

import pytest

from recommender.models import ModelVersion
from tests.tiny import tiny_config_write, tiny_model_trained


@pytest.fixture(scope="package")
def tiny_config(tmp_path_factory) -> str:
    """TINY_TRAIN_CONFIG as a file for `train_model --config`."""
    return tiny_config_write(tmp_path_factory.mktemp("config"))


@pytest.fixture(scope="package")
def training(django_db_setup, django_db_blocker, tiny_config):
    """(model v1, what `train_model` printed), committed for this package."""
    with django_db_blocker.unblock(), tiny_model_trained(tiny_config) as trained:
        yield trained


@pytest.fixture(scope="package", autouse=True)
def trained(training) -> ModelVersion:
    """The active tiny model v1 (every test here runs with it)."""
    return training[0]


@pytest.fixture
def milvus_calls(monkeypatch) -> list[tuple[str, object]]:
    """(method, genres filter) of every call this test makes on the real vector store's search_many (which search()
    goes through too) and get_vectors: a spy, each call still reaches Milvus."""
    from recommender.vectorstore import get_vector_store

    store, calls = get_vector_store(), []
    for name in ("search_many", "get_vectors"):
        real = getattr(store, name)

        def spy(*args, _name=name, _real=real, **kwargs):
            calls.append((_name, kwargs.get("genres")))
            return _real(*args, **kwargs)

        monkeypatch.setattr(store, name, spy)
    return calls

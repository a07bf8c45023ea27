"""get_vector_store(): one store per process from settings, created once even when threads race."""

import threading

import pytest

from recommender.vectorstore import get_vector_store, reset_vector_store


@pytest.fixture
def milvus_settings(settings, tmp_path):
    settings.MILVUS_URI = str(tmp_path / "factory.db")
    settings.MILVUS_ALIAS = "factory_live"
    settings.MILVUS_COLLECTION_PREFIX = "factory_v"
    settings.MILVUS_TIMEOUT = 3.0
    reset_vector_store()
    yield settings
    reset_vector_store()


def test_one_store_per_process_even_with_racing_threads(milvus_settings):
    stores, errors = [], []

    def first_use():
        try:
            store = get_vector_store()
            store.list_versions()  # concurrent first opens of a Lite path fail unless serialized
            stores.append(store)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=first_use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len({id(s) for s in stores}) == 1
    store = stores[0]
    assert (store.alias, store.prefix, store.timeout) == ("factory_live", "factory_v", 3.0)
    assert store.uri == str(milvus_settings.MILVUS_URI)
    assert store.collection_name(3) == "factory_v3"


def test_reset_gives_a_fresh_store(milvus_settings):
    first = get_vector_store()
    reset_vector_store()
    assert get_vector_store() is not first

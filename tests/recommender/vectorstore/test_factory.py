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


def test_a_web_worker_gives_its_requests_milvus_calls_the_short_deadline(milvus_settings):
    from recommender.vectorstore import request_deadline_set

    request_deadline_set(1.5)  # what recsite/gunicorn_conf.post_worker_init does with MILVUS_WEB_TIMEOUT
    try:
        store = get_vector_store()
        assert (store.timeout, store.admin_timeout) == (1.5, 3.0)  # searches 1.5 s; writes, loads keep 3 s
        request_deadline_set(10.0)  # never longer than MILVUS_TIMEOUT
        assert get_vector_store() is not store and get_vector_store().timeout == 3.0
    finally:
        request_deadline_set(None)
    assert get_vector_store().timeout == 3.0

"""The rating endpoint's JSON carries the fallback reason: its detail (the Milvus address when the store is
down) for staff only. The store really is unreachable here (a closed loopback port), not mocked."""

import socket

import pytest
from django.urls import reverse

from recommender import serving
from recommender.presentation import FALLBACK_REASON_PUBLIC
from recommender.vectorstore import reset_vector_store

pytestmark = pytest.mark.django_db
JSON = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture
def dead_milvus(settings, monkeypatch):
    monkeypatch.delattr(serving.registry, "get")  # the real one (conftest stubs it on the instance)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.MILVUS_URI, settings.MILVUS_TIMEOUT = f"http://127.0.0.1:{port}", 1.0
    reset_vector_store()
    serving.registry.reset()
    yield f"127.0.0.1:{port}"
    reset_vector_store()
    serving.registry.reset()


@pytest.mark.parametrize("who", ["alice", "staff"])
def test_the_fallback_reason_names_the_store_for_staff_only(dead_milvus, client, movies, alice, staff, who):
    client.force_login({"alice": alice, "staff": staff}[who])
    data = client.post(reverse("movie_rate", args=[1]), {"score": "5"}, **JSON).json()
    recs = data["recommendations"]
    assert recs["fallback"] is True and recs["items"]
    if who == "staff":
        assert dead_milvus in recs["fallback_reason"]
        assert dead_milvus in data["recommendations_html"]  # the banner's staff-only note
    else:
        assert recs["fallback_reason"] == FALLBACK_REASON_PUBLIC
        assert "127.0.0.1" not in data["recommendations_html"]

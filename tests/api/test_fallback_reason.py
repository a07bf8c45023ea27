"""A popularity fallback's reason is the error's text, which names the Milvus address when the store is down:
only staff see it; everybody else (users, service accounts) gets one generic sentence.

No mock: the vector store really is unreachable (MILVUS_URI at a closed loopback port), so the service falls
back with a VectorStoreError that names that address.
"""

import socket

import pytest

from movies.services import rating_upsert
from recommender.presentation import FALLBACK_REASON_PUBLIC
from recommender.serving import registry
from recommender.vectorstore import reset_vector_store

pytestmark = pytest.mark.django_db


@pytest.fixture
def dead_milvus(settings):
    with socket.socket() as sock:  # a port nobody listens on once this socket is closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.MILVUS_URI, settings.MILVUS_TIMEOUT = f"http://127.0.0.1:{port}", 1.0
    reset_vector_store()
    registry.reset()
    yield f"127.0.0.1:{port}"
    reset_vector_store()
    registry.reset()


@pytest.fixture
def rated(users, movies):
    """Everybody has rated a movie, so the service asks the model (and the store) rather than the cold start."""
    for user in users.values():
        rating_upsert(user=user, movie_id=movies[0].pk, score=5)
    return users


CALLS = [
    ("get", "/api/me/recommendations/?k=3", None),
    ("post", "/api/rank/", {"movie_ids": [2, 3, 4]}),
    ("get", "/api/movies/1/similar/?k=3", None),
]


@pytest.mark.parametrize(("method", "path", "body"), CALLS, ids=[c[1] for c in CALLS])
def test_only_staff_see_the_internal_reason(dead_milvus, rated, clients, method, path, body):
    reasons = {}
    for caller in ("user", "service", "staff"):
        response = getattr(clients[caller], method)(path, body, format="json")
        assert response.status_code == 200, response.content[:300]
        assert response.json()["fallback"] is True and response.json()["items"]
        reasons[caller] = response.json()["fallback_reason"]
    assert dead_milvus in reasons["staff"], reasons  # staff can tell which store failed
    assert reasons["user"] == reasons["service"] == FALLBACK_REASON_PUBLIC
    assert "127.0.0.1" not in str(reasons["user"])


def test_staff_only_detail_is_in_the_schema_description(clients):
    schema = clients["anonymous"].get("/api/schema/", HTTP_ACCEPT="application/json").json()
    field = schema["components"]["schemas"]["Recommendations"]["properties"]["fallback_reason"]
    assert field["type"] == "string" and "staff" in field["description"]

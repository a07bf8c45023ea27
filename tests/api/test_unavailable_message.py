"""A 503 for a vector store that cannot serve names the Milvus address to staff only."""

import pytest

from recommender.serving import registry
from recommender.vectorstore import reset_vector_store
from tests.factories import UserFactory, token_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def unreachable_milvus(settings):
    settings.MILVUS_URI, settings.MILVUS_TIMEOUT = "http://127.0.0.1:9", 1.0  # nothing listens on port 9
    reset_vector_store()
    registry.reset()
    yield
    reset_vector_store()
    registry.reset()


def test_the_503_detail_is_for_staff_only(unreachable_milvus):
    service = token_client(UserFactory(username="bot", service=True))
    staff = token_client(UserFactory(username="ops", staff=True))
    for _ in range(4):  # failures, then the circuit breaker's refusals: the same rule for both
        answer = service.post("/api/recall/", {"top_k": 3, "hist_item": [[1, 2]]}, format="json")
        assert answer.status_code == 503 and "127.0.0.1" not in answer.content.decode(), answer.content
        assert answer.json()["message"] == "No model is serving right now; try again later."
        detail = staff.post("/api/recall/", {"top_k": 3, "hist_item": [[1, 2]]}, format="json")
        assert detail.status_code == 503 and "127.0.0.1:9" in detail.json()["message"], detail.content

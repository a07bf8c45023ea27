"""Old Milvus collections are dropped after each activation (issue #11): the newest MILVUS_KEEP_COLLECTIONS stay,
never the live one nor the rollback target; dropped versions are retired and say so when someone tries them.

Real Milvus Lite (this run's file) under a prefix and alias of its own, so no other test's collections are touched.
"""

import logging

import numpy as np
import pytest
from django.urls import reverse

from core.exceptions import ApplicationError
from recommender.models import ModelVersion
from recommender.services.vectors import collections_retire, model_version_activate
from recommender.vectorstore import VectorStoreError, get_vector_store, reset_vector_store
from tests.factories import UserFactory, token_client

pytestmark = pytest.mark.django_db
Status = ModelVersion.Status
MOVIES = np.arange(1, 9)


@pytest.fixture
def store(settings):
    settings.MILVUS_COLLECTION_PREFIX, settings.MILVUS_ALIAS = "retention_v", "retention_live"
    settings.MILVUS_KEEP_COLLECTIONS = 3
    reset_vector_store()
    store = get_vector_store()
    store.drop_all()
    yield store
    store.drop_all()
    reset_vector_store()


def version_with_collection(number: int, status: str = Status.INACTIVE) -> ModelVersion:
    """A complete version whose collection exists (random unit vectors: retention never reads them)."""
    vectors = np.random.default_rng(number).normal(size=(len(MOVIES), 4)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    name = get_vector_store().build_collection(number, MOVIES, vectors, [["Drama"]] * len(MOVIES), [1990] * 8)
    return ModelVersion.objects.create(number=number, status=status, artifact_path="/unused", collection_name=name)


def statuses() -> dict[int, str]:
    return dict(ModelVersion.objects.order_by("number").values_list("number", "status"))


def test_retrains_keep_the_newest_collections_and_always_the_live_one_and_the_rollback_target(store):
    for number in range(1, 6):  # five retrains, each activated
        model_version_activate(version=version_with_collection(number))
    assert store.list_versions() == [3, 4, 5] and store.live_version() == 5
    assert statuses() == {1: "retired", 2: "retired", 3: "inactive", 4: "inactive", 5: "active"}
    assert ModelVersion.objects.get(number=1).collection_name == ""

    model_version_activate(version=ModelVersion.objects.get(number=3))  # roll back two versions
    assert store.list_versions() == [3, 4, 5]  # live v3, rollback target v5 (it served before), and v4

    model_version_activate(version=version_with_collection(6))  # the next retrain
    # live v6, rollback target v3 (older than v4, kept anyway), and the newest other one: v5; v4 goes
    assert store.list_versions() == [3, 5, 6] and store.live_version() == 6
    assert statuses()[4] == "retired"


def test_a_retired_version_cannot_be_activated_and_the_api_and_admin_say_why(store, client):
    for number in range(1, 5):
        model_version_activate(version=version_with_collection(number))
    retired = ModelVersion.objects.get(number=1)
    assert retired.status == Status.RETIRED

    with pytest.raises(ApplicationError, match="retired: its Milvus collection was dropped"):
        model_version_activate(version=retired)

    staff = UserFactory(username="carol", staff=True)
    answer = token_client(staff).post(reverse("api-model-activate", args=[1]))
    assert answer.status_code == 400
    assert "is retired" in answer.json()["message"] and "cannot be activated again" in answer.json()["message"]
    assert token_client(staff).get(reverse("api-model-detail", args=[1])).json()["status"] == "retired"

    admin = UserFactory(username="boss", staff=True)
    admin.is_superuser = True
    admin.save()
    client.force_login(admin)
    page = client.get(reverse("admin:recommender_modelversion_change", args=[retired.pk])).content.decode()
    assert "Model version 1 is retired" in page and "cannot be activated again" in page
    refused = client.post(reverse("admin:recommender_modelversion_activate", args=[retired.pk]), follow=True)
    assert "Activation refused: model version 1 is retired" in refused.content.decode()
    assert store.live_version() == 4 and statuses()[4] == "active"


def test_keep_one_still_keeps_live_and_rollback_and_zero_keeps_everything(store, settings):
    settings.MILVUS_KEEP_COLLECTIONS = 0
    for number in range(1, 5):
        model_version_activate(version=version_with_collection(number))
    assert store.list_versions() == [1, 2, 3, 4] and Status.RETIRED not in statuses().values()

    assert collections_retire(keep=1) == [1, 2]
    assert store.list_versions() == [3, 4]  # live v4 and rollback target v3, although keep is 1


def test_running_failed_and_unknown_collections(store):
    model_version_activate(version=version_with_collection(1))
    model_version_activate(version=version_with_collection(2))
    version_with_collection(3, status=Status.FAILED)  # failed after indexing (say, the alias switch failed)
    version_with_collection(4)  # complete, inactive (activated never)
    version_with_collection(5)
    version_with_collection(6, status=Status.INDEXING)  # a pipeline is writing it now
    orphan = np.eye(len(MOVIES), 4, dtype=np.float32)
    store.build_collection(99, MOVIES, orphan + 0.1, [["Drama"]] * len(MOVIES), [1990] * 8)  # no database row

    assert collections_retire() == [3, 4]  # keep 3: live v2, rollback v1, newest other v5
    assert store.list_versions() == [1, 2, 5, 6, 99]
    assert statuses() == {1: "inactive", 2: "active", 3: "failed", 4: "retired", 5: "inactive", 6: "indexing"}


def test_a_failed_drop_is_logged_and_leaves_the_activation_in_place(store, monkeypatch, caplog):
    for number in range(1, 4):
        model_version_activate(version=version_with_collection(number))

    def unreachable(self, version, **kwargs):
        raise VectorStoreError("Milvus is unreachable")

    monkeypatch.setattr(type(store), "drop_collection", unreachable)
    with caplog.at_level(logging.ERROR, logger="recommender.services.vectors"):
        model_version_activate(version=version_with_collection(4))
    assert store.live_version() == 4 and statuses() == {1: "inactive", 2: "inactive", 3: "inactive", 4: "active"}
    assert "old collections could not be dropped" in caplog.text
    monkeypatch.undo()
    assert collections_retire() == [1] and statuses()[1] == "retired"  # the next activation (or call) catches up

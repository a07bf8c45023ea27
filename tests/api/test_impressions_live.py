"""Impressions and the online figures with a trained version serving (the real pipeline, Milvus Lite): the lists
carry the version, a user's rating / "not interested" / click after them land in GET /api/models/<n>/ `online`."""

import pytest

from recommender.impressions.models import Impression
from tests.factories import token_client
from tests.tiny import tiny_config_write, tiny_model_trained

pytestmark = pytest.mark.slow(reason="trains a tiny version through the real pipeline and serves it from Milvus Lite")


@pytest.fixture(scope="module")
def trained(django_db_setup, django_db_blocker, tmp_path_factory):
    """The tiny catalogue and model v1 (trained by `train_model`, activated by the gate), committed for this module."""
    config = tiny_config_write(tmp_path_factory.mktemp("config"))
    with django_db_blocker.unblock(), tiny_model_trained(config) as (version, _):
        yield version


def test_every_api_list_records_the_serving_version(trained, db):
    from django.contrib.auth import get_user_model

    client = token_client(get_user_model().objects.get(username="ml1"))
    mine = client.get("/api/me/recommendations/?k=5").json()
    ranked = client.post("/api/rank/", {"movie_ids": [1, 2, 3, 4]}, format="json").json()
    similar = client.get("/api/movies/7/similar/?k=5").json()
    for body, surface in ((mine, "api_recommendations"), (ranked, "api_rank"), (similar, "api_similar")):
        assert body["model_version"] == 1 and not body["fallback"]
        impression = Impression.objects.get(pk=body["impression_id"])
        assert impression.surface == surface and impression.model_version_id == trained.pk
        assert list(impression.items.values_list("movie_id", flat=True)) == [i["movie"]["id"] for i in body["items"]]


def test_the_version_detail_carries_what_users_did_after_its_lists(trained, operator, db):
    from django.contrib.auth import get_user_model

    users = get_user_model().objects
    before = operator.get("/api/models/1/").json()["online"]
    assert before["impressions"] == 0 and before["rates"]["rated"]["ci95"] is None
    for name, acts in (("ml1", True), ("ml2", False), ("ml3", False)):
        client = token_client(users.get(username=name))
        body = client.get("/api/me/recommendations/?k=5").json()
        if acts:
            first, second, third = (item["movie"]["id"] for item in body["items"][:3])
            assert client.put(f"/api/me/ratings/{first}/", {"score": 5}, format="json").status_code == 201
            assert client.post("/api/me/hidden/", {"movie_id": second}, format="json").status_code == 201
            click = client.post(f"/api/impressions/{body['impression_id']}/clicks/", {"movie": third}, format="json")
            assert click.status_code == 201
    online = operator.get("/api/models/1/").json()["online"]
    assert {k: online[k] for k in ("impressions", "users", "clicks", "rated_after_shown", "hidden_after_shown")} == {
        "impressions": 3, "users": 3, "clicks": 1, "rated_after_shown": 1, "hidden_after_shown": 1,
    }  # fmt: skip
    rated = online["rates"]["rated"]
    assert (rated["successes"], rated["trials"]) == (1, 3) and rated["rate"] == pytest.approx(1 / 3)
    assert rated["ci95"] == [pytest.approx(0.0615, abs=1e-3), pytest.approx(0.7923, abs=1e-3)]
    assert online["window_days"] == 7

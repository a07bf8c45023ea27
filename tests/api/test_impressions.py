"""Impressions through the API (popularity: no model here; a trained version in test_impressions_live.py): every
answer of /api/me/recommendations/, /api/rank/ and /api/movies/<id>/similar/ is recorded and carries its
impression_id; clicks are posted to /api/impressions/<id>/clicks/."""

import uuid

import pytest

from recommender.impressions.models import Impression, ImpressionClick
from recommender.impressions.selectors import online_figures, version_impressions


@pytest.fixture(autouse=True)
def popularity(without_model):
    """No trained model: the answers are the flagged popularity fallback (recorded with no model version)."""


def recorded(body: dict, user, surface: str) -> Impression:
    impression = Impression.objects.get(pk=body["impression_id"])
    assert (impression.user, impression.surface, impression.model_version) == (user, surface, None)
    shown = list(impression.items.order_by("position").values_list("movie_id", flat=True))
    assert shown == [item["movie"]["id"] for item in body["items"]]
    return impression


def test_my_recommendations_rank_and_similar_are_each_recorded(clients, users, movies):
    alice = clients["user"]
    mine = alice.get("/api/me/recommendations/?k=5").json()
    ranked = alice.post("/api/rank/", {"movie_ids": [9, 3, 5]}, format="json").json()
    similar = alice.get("/api/movies/2/similar/?k=4").json()
    assert mine["fallback"] and mine["model_version"] is None
    recorded(mine, users["user"], "api_recommendations")
    recorded(ranked, users["user"], "api_rank")
    recorded(similar, users["user"], "api_similar")
    assert Impression.objects.count() == 3


def test_anonymous_similar_movies_record_nothing(clients, movies):
    body = clients["anonymous"].get("/api/movies/2/similar/").json()
    assert body["items"] and body["impression_id"] is None
    assert not Impression.objects.exists()


def test_staff_reading_a_users_recommendations_records_nothing(clients, users, movies):
    body = clients["service"].get("/api/users/1/recommendations/").json()
    assert body["impression_id"] is None and not Impression.objects.exists()


def test_a_click_on_a_shown_movie_is_recorded_once(clients, users, movies):
    alice = clients["user"]
    body = alice.get("/api/me/recommendations/?k=5").json()
    movie = body["items"][2]["movie"]["id"]
    url = f"/api/impressions/{body['impression_id']}/clicks/"
    created = alice.post(url, {"movie": movie}, format="json")
    assert created.status_code == 201
    assert created.json()["impression_id"] == body["impression_id"] and created.json()["movie"] == movie
    again = alice.post(url, {"movie": movie}, format="json")
    assert again.status_code == 200 and again.json() == created.json()
    assert ImpressionClick.objects.count() == 1
    assert online_figures(version_impressions(None))["clicks"] == 1


def test_clicks_on_a_movie_not_shown_or_someone_elses_list_are_refused(clients, users, movies):
    body = clients["user"].get("/api/me/recommendations/?k=3").json()
    shown = {item["movie"]["id"] for item in body["items"]}
    url = f"/api/impressions/{body['impression_id']}/clicks/"
    not_shown = min(m.pk for m in movies if m.pk not in shown)
    refused = clients["user"].post(url, {"movie": not_shown}, format="json")
    assert refused.status_code == 400 and "did not show" in str(refused.json()["extra"])
    assert clients["user"].post(url, {"movie": "x"}, format="json").status_code == 400
    assert clients["other"].post(url, {"movie": min(shown)}, format="json").status_code == 404
    unknown = f"/api/impressions/{uuid.uuid4()}/clicks/"
    assert clients["user"].post(unknown, {"movie": min(shown)}, format="json").status_code == 404
    assert clients["anonymous"].post(url, {"movie": min(shown)}, format="json").status_code == 401
    assert not ImpressionClick.objects.exists()


def test_a_rating_and_a_not_interested_by_api_are_attributed(clients, users, movies):
    alice = clients["user"]
    body = alice.get("/api/me/recommendations/?k=5").json()
    first, second = (item["movie"]["id"] for item in body["items"][:2])
    assert alice.put(f"/api/me/ratings/{first}/", {"score": 4}, format="json").status_code == 201
    assert alice.post("/api/me/hidden/", {"movie_id": second}, format="json").status_code == 201
    figures = online_figures(version_impressions(None))
    assert (figures["rated_after_shown"], figures["hidden_after_shown"], figures["users"]) == (1, 1, 1)


def test_a_failed_write_still_answers_with_a_null_impression_id(clients, users, movies, monkeypatch):
    from recommender.impressions.models import Impression, ImpressionItem

    # the database refuses the items' insert (no such table): a real error from the real database
    monkeypatch.setattr(ImpressionItem._meta, "db_table", "impression_items_gone")
    response = clients["user"].get("/api/me/recommendations/?k=5")
    assert response.status_code == 200 and response.json()["items"] and response.json()["impression_id"] is None
    assert not Impression.objects.exists()  # the impression's own row went back with the failed transaction


def test_the_schema_documents_impression_ids_and_clicks(client, db):
    schema = client.get("/api/schema/?format=json").json()
    components = schema["components"]["schemas"]
    assert "impression_id" in components["Recommendations"]["properties"]
    assert "impression_id" in components["RankOutput"]["properties"]
    assert "impression_id" in components["MovieSimilarOutput"]["properties"]
    post = schema["paths"]["/api/impressions/{impression_id}/clicks/"]["post"]
    assert {"200", "201", "400", "401", "404"} <= set(post["responses"])


@pytest.mark.django_db(transaction=True)
def test_deferred_writes_a_click_right_after_the_list_still_finds_it(settings):
    """With the web servers' deferred writer the list may still wait in the buffer when the click comes."""
    from recommender.impressions import services
    from tests.factories import MovieFactory, UserFactory, token_client

    settings.IMPRESSIONS_WRITE, settings.IMPRESSIONS_FLUSH_SECONDS = "deferred", 30  # the thread never runs first
    for i in range(1, 6):
        MovieFactory(id=i)
    client = token_client(UserFactory(username="quick"))
    try:
        body = client.get("/api/me/recommendations/?k=3").json()
        assert body["impression_id"] and not Impression.objects.filter(pk=body["impression_id"]).exists()
        url = f"/api/impressions/{body['impression_id']}/clicks/"
        assert client.post(url, {"movie": body["items"][0]["movie"]["id"]}, format="json").status_code == 201
        assert Impression.objects.filter(pk=body["impression_id"]).exists()
    finally:
        settings.IMPRESSIONS_WRITE = "inline"
        services.buffer.flush()

"""/api/me/hidden/: your "not interested" movies (never anyone else's): list, hide, unhide; hidden movies leave your
recommendations (the popularity fallback here; the model's answer in tests/live_model/test_hidden.py)."""

import pytest

from movies.models import HiddenMovie
from movies.services import movie_hide

pytestmark = pytest.mark.usefixtures("without_model")


def test_post_hides_then_lists_and_delete_unhides(clients, users, movies):
    alice = clients["user"]
    created = alice.post("/api/me/hidden/", {"movie_id": 3}, format="json")
    assert created.status_code == 201
    body = created.json()
    assert {k: body[k] for k in ("movie_id", "title")} == {"movie_id": 3, "title": "Film 03"}
    assert set(body) == {"movie_id", "title", "hidden_at"}
    again = alice.post("/api/me/hidden/", {"movie_id": 3}, format="json")
    assert again.status_code == 200 and again.json() == body  # already hidden: the same row
    alice.post("/api/me/hidden/", {"movie_id": 7}, format="json")

    listed = alice.get("/api/me/hidden/?page_size=1").json()
    assert listed["count"] == 2 and [r["movie_id"] for r in listed["results"]] == [7]
    assert listed["next"].endswith("/api/me/hidden/?page=2&page_size=1")

    assert alice.delete("/api/me/hidden/3/").status_code == 204
    missing = alice.delete("/api/me/hidden/3/")
    assert missing.status_code == 404 and missing.json()["message"] == "you have not hidden movie 3"
    assert list(HiddenMovie.objects.filter(user=users["user"]).values_list("movie_id", flat=True)) == [7]


@pytest.mark.parametrize(
    ("body", "message", "field"),
    [
        ({"movie_id": 999}, "movie 999 does not exist", None),
        ({}, "Validation error", "movie_id"),
        ({"movie_id": "3"}, "Validation error", "movie_id"),
        ({"movie_id": True}, "Validation error", "movie_id"),
        ({"movie_id": 0}, "Validation error", "movie_id"),
        ({"movie_id": 2**31}, "Validation error", "movie_id"),
        ([3], "Validation error", "non_field_errors"),
    ],
)
def test_bad_bodies_and_unknown_movies_are_a_400_with_a_message(clients, movies, body, message, field):
    response = clients["user"].post("/api/me/hidden/", body, format="json")
    assert response.status_code == 400, response.content
    payload = response.json()
    assert payload["message"] == message
    if field is None:
        assert payload["extra"] == {"field": "movie_id"}
    else:
        assert field in payload["extra"]["fields"]
    assert not HiddenMovie.objects.exists()


def test_nobody_reads_or_changes_another_users_hidden_movies(clients, users, movies):
    movie_hide(user=users["other"], movie_id=5)
    alice = clients["user"]
    assert alice.get("/api/me/hidden/").json()["count"] == 0
    assert alice.delete("/api/me/hidden/5/").status_code == 404
    assert HiddenMovie.objects.filter(user=users["other"], movie_id=5).exists()
    assert clients["anonymous"].get("/api/me/hidden/").status_code == 401
    assert clients["anonymous"].post("/api/me/hidden/", {"movie_id": 1}, format="json").status_code == 401


def test_unknown_query_parameters_are_refused_per_operation(clients, movies):
    alice = clients["user"]
    response = alice.get("/api/me/hidden/?ordering=title")
    assert response.status_code == 400 and response.json()["extra"]["unknown"] == ["ordering"]
    posted = alice.post("/api/me/hidden/?page=1", {"movie_id": 1}, format="json")  # POST takes no query parameter
    assert posted.status_code == 400 and posted.json()["extra"] == {"unknown": ["page"], "accepted": []}
    assert alice.delete("/api/me/hidden/1/?force=1").status_code == 400


def test_hidden_movies_leave_the_recommendations(clients, users, movies):
    alice = clients["user"]
    alice.put("/api/me/ratings/1/", {"score": 4}, format="json")
    before = [i["movie"]["id"] for i in alice.get("/api/me/recommendations/?k=5").json()["items"]]
    assert before == [2, 3, 4, 5, 6]
    for movie_id in (2, 4):
        alice.post("/api/me/hidden/", {"movie_id": movie_id}, format="json")
    after = alice.get("/api/me/recommendations/?k=5").json()
    assert after["fallback"] is True and [i["movie"]["id"] for i in after["items"]] == [3, 5, 6, 7, 8]
    assert {i["source"] for i in after["items"]} == {"popularity"}
    bob = clients["other"]  # Bob's list is his own
    assert [i["movie"]["id"] for i in bob.get("/api/me/recommendations/?k=3").json()["items"]] == [1, 2, 3]


def test_the_schema_documents_the_endpoints(client):
    paths = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    assert set(paths["/api/me/hidden/"]) == {"get", "post"} and set(paths["/api/me/hidden/{movie_id}/"]) == {"delete"}
    post = paths["/api/me/hidden/"]["post"]
    assert post["operationId"] == "hidden_movie_create" and {"200", "201", "400", "401"} <= set(post["responses"])
    assert [p["name"] for p in paths["/api/me/hidden/"]["get"]["parameters"]] == ["page", "page_size"]


@pytest.mark.parametrize("n", [3, 12])
def test_the_list_costs_the_same_queries_whatever_the_page_size(
    clients, users, movies, n, django_assert_max_num_queries
):
    for movie in movies:
        movie_hide(user=users["user"], movie_id=movie.pk)
    with django_assert_max_num_queries(4):  # token + user, count, page with its movies (one join)
        response = clients["user"].get(f"/api/me/hidden/?page_size={n}")
    assert len(response.json()["results"]) == n

"""Your ratings through the API (never anyone else's), and obtaining / revoking a token."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from movies.models import Movie, Rating
from movies.services import rating_upsert

pytestmark = pytest.mark.usefixtures("without_model")


def test_put_creates_then_updates_and_delete_removes(clients, users, movies):
    alice = clients["user"]
    created = alice.put("/api/me/ratings/3/", {"score": 4}, format="json")
    assert created.status_code == 201
    assert {k: created.json()[k] for k in ("movie_id", "title", "score")} == {
        "movie_id": 3,
        "title": "Film 03",
        "score": 4,
    }
    updated = alice.put("/api/me/ratings/3/", {"score": 2}, format="json")
    assert updated.status_code == 200 and updated.json()["score"] == 2
    assert Movie.objects.get(pk=3).rating_total == 300 + 2
    listed = alice.get("/api/me/ratings/").json()
    assert listed["count"] == 1 and listed["results"][0]["movie_id"] == 3
    assert alice.delete("/api/me/ratings/3/").status_code == 204
    assert alice.delete("/api/me/ratings/3/").status_code == 404
    assert not Rating.objects.filter(user=users["user"]).exists()


def test_a_user_never_reads_or_changes_another_users_ratings(clients, users, movies):
    rating_upsert(user=users["other"], movie_id=5, score=5)
    alice = clients["user"]
    assert alice.get("/api/me/ratings/").json()["count"] == 0
    # PUT and DELETE on "me" act on Alice's own rating only: Bob's stays as it was
    assert alice.delete("/api/me/ratings/5/").status_code == 404
    assert alice.put("/api/me/ratings/5/", {"score": 1}, format="json").status_code == 201
    assert Rating.objects.get(user=users["other"], movie_id=5).score == 5
    assert [r["score"] for r in clients["other"].get("/api/me/ratings/").json()["results"]] == [5]
    # there is no path naming another user's ratings at all
    assert alice.get(f"/api/users/{users['other'].pk}/ratings/").status_code == 404


def test_token_obtain_use_and_revoke(users, movies):
    anonymous = APIClient()
    response = anonymous.post("/api/auth/token/", {"username": "alice", "password": "pw-for-tests-123"}, format="json")
    assert response.status_code == 200
    key = response.json()["token"]
    assert Token.objects.get(user=users["user"]).key == key
    # obtaining again returns the same token
    again = anonymous.post("/api/auth/token/", {"username": "alice", "password": "pw-for-tests-123"}, format="json")
    assert again.json()["token"] == key

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/me/ratings/").status_code == 200
    assert client.delete("/api/auth/token/").status_code == 204
    revoked = client.get("/api/me/ratings/")
    assert revoked.status_code == 401
    assert revoked.json() == {"message": "Invalid token.", "extra": {}}


def test_token_obtain_refuses_wrong_password_and_inactive_users(users):
    anonymous = APIClient()
    wrong = anonymous.post("/api/auth/token/", {"username": "alice", "password": "nope"}, format="json")
    assert wrong.status_code == 400
    assert wrong.json() == {
        "message": "Unable to log in with the given username and password.",
        "extra": {"field": "password"},
    }
    users["user"].is_active = False
    users["user"].save()
    inactive = anonymous.post("/api/auth/token/", {"username": "alice", "password": "pw-for-tests-123"}, format="json")
    assert inactive.status_code == 400


def test_session_login_works_for_reads(users, movies):
    client = APIClient()
    client.force_login(users["user"])
    assert client.get("/api/movies/").status_code == 200


def test_session_writes_need_csrf(users, movies):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(users["user"])
    response = client.put("/api/me/ratings/1/", {"score": 3}, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["message"]


def test_half_stars_round_trip_exactly_and_the_schema_says_so(clients, users, movies):
    alice = clients["user"]
    created = alice.put("/api/me/ratings/3/", {"score": 3.5}, format="json")
    assert created.status_code == 201 and created.json()["score"] == 3.5
    assert Rating.objects.get(user=users["user"], movie_id=3).score == 3.5
    assert alice.put("/api/me/ratings/3/", {"score": 0.5}, format="json").json()["score"] == 0.5
    assert [r["score"] for r in alice.get("/api/me/ratings/").json()["results"]] == [0.5]
    assert Movie.objects.get(pk=3).rating_total == 300 + 0.5

    schema = clients["user"].get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    for name in ("Rating", "RatingPutInput"):
        score = schema["components"]["schemas"][name]["properties"]["score"]
        assert (score["type"], score["minimum"], score["maximum"], score["multipleOf"]) == ("number", 0.5, 5.0, 0.5)

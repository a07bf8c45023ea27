"""The catalogue is public: anonymous reads of /api/movies/... work and are held to the anonymous throttle; every
other endpoint still answers an anonymous caller 401."""

import pytest
from django.conf import settings
from django.test import override_settings
from rest_framework.test import APIClient

from tests.factories import token_client

pytestmark = pytest.mark.usefixtures("without_model")

CATALOGUE = ["/api/movies/", "/api/movies/1/", "/api/movies/1/similar/?k=3"]
SIGNED_IN_ONLY = [
    ("get", "/api/me/ratings/", None),
    ("put", "/api/me/ratings/1/", {"score": 4}),
    ("delete", "/api/me/ratings/1/", None),
    ("get", "/api/me/recommendations/", None),
    ("post", "/api/rank/", {"movie_ids": [1, 2]}),
    ("delete", "/api/auth/token/", None),
    ("get", "/api/models/", None),
    ("get", "/api/users/1/recommendations/", None),
]


def anon_rate(rate: str):
    """A tiny anonymous rate (the throttle history lives in the cache, which tests/conftest.py clears per test)."""
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "anon": rate}
    return override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates})


def test_anonymous_reads_the_catalogue(movies):
    anonymous = APIClient()
    page = anonymous.get("/api/movies/?genre=Drama&ordering=title&page_size=3")
    assert page.status_code == 200
    assert page.json()["count"] == 6
    assert [m["title"] for m in page.json()["results"]] == ["Film 01", "Film 02", "Film 05"]
    detail = anonymous.get("/api/movies/4/")
    assert detail.status_code == 200 and detail.json()["title"] == "Film 04"
    similar = anonymous.get("/api/movies/1/similar/?k=3")
    assert similar.status_code == 200
    body = similar.json()
    assert body["fallback"] is True and [item["movie"]["id"] for item in body["items"]] == [2, 3, 4]


def test_anonymous_catalogue_reads_are_throttled(movies, users):
    with anon_rate("2/minute"):
        anonymous = APIClient()
        codes = [anonymous.get(path).status_code for path in CATALOGUE]
        refused = anonymous.get("/api/movies/")
        other_client = APIClient().get("/api/movies/", REMOTE_ADDR="127.0.0.2")
        signed_in = token_client(users["user"]).get("/api/movies/")
    assert codes == [200, 200, 429]
    assert refused.status_code == 429
    body = refused.json()
    assert body["message"].startswith("Request was throttled.") and 0 < body["extra"]["wait"] <= 60
    assert int(refused["Retry-After"]) == body["extra"]["wait"]
    assert other_client.status_code == 200  # the budget is per client address
    assert signed_in.status_code == 200  # signed-in callers have the per-user rate instead


@pytest.mark.parametrize(("method", "path", "body"), SIGNED_IN_ONLY, ids=[f"{m} {p}" for m, p, _ in SIGNED_IN_ONLY])
def test_everything_else_still_needs_a_token(movies, method, path, body):
    response = getattr(APIClient(), method)(path, body, format="json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json() == {"message": "Authentication credentials were not provided.", "extra": {}}


def test_a_bad_token_on_the_catalogue_is_refused_not_ignored(movies):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    response = client.get("/api/movies/")
    assert response.status_code == 401
    assert response.json() == {"message": "Invalid token.", "extra": {}}

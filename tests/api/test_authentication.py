"""The same token is accepted as "Authorization: Token <key>" and as "Authorization: Bearer <key>"."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from movies.models import Rating

pytestmark = pytest.mark.usefixtures("without_model")


def client_with(header: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    return client


@pytest.mark.parametrize("scheme", ["Token", "Bearer", "bearer", "BEARER"])
def test_either_scheme_signs_in_as_the_tokens_user(users, movies, scheme):
    key = Token.objects.create(user=users["user"]).key
    client = client_with(f"{scheme} {key}")
    assert client.put("/api/me/ratings/3/", {"score": 4}, format="json").status_code == 201
    assert Rating.objects.get(movie_id=3).user == users["user"]
    listed = client.get("/api/me/ratings/")
    assert listed.status_code == 200 and [r["movie_id"] for r in listed.json()["results"]] == [3]


def test_a_bearer_token_is_revoked_like_any_other(users, movies):
    key = Token.objects.create(user=users["user"]).key
    client = client_with(f"Bearer {key}")
    assert client.delete("/api/auth/token/").status_code == 204
    refused = client.get("/api/me/ratings/")
    assert refused.status_code == 401 and refused.json()["message"] == "Invalid token."


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("Bearer nope", "Invalid token."),
        ("Bearer", "Invalid token header. No credentials provided."),
        ("Bearer a b", "Invalid token header. Token string should not contain spaces."),
        ("Token nope", "Invalid token."),
        ("Basic YWxpY2U6cHc=", "Authentication credentials were not provided."),  # not a token scheme
    ],
)
def test_bad_headers_are_401_with_drfs_messages(users, movies, header, message):
    response = client_with(header).get("/api/me/ratings/")
    assert response.status_code == 401
    assert response.json() == {"message": message, "extra": {}}
    assert response["WWW-Authenticate"] == "Token"

"""A query parameter an endpoint does not document is a 400 naming it (not silently ignored), checked once in
api/base.py from each operation's declared query_parameters. Table-driven."""

import re

import pytest
from django.urls import resolve

from api import vectors as vectors_api
from api.base import query_parameters_accepted
from movies.models import Rating

pytestmark = pytest.mark.usefixtures("without_model")

# (caller, method, path, body, unknown names as reported)
UNKNOWN = [
    ("anonymous", "get", "/api/movies/?q=godfather", None, ["q"]),
    ("user", "get", "/api/movies/?search=film&serach=film&Page=2", None, ["Page", "serach"]),
    ("anonymous", "get", "/api/movies/1/?k=3", None, ["k"]),
    ("anonymous", "get", "/api/movies/1/similar/?k=3&page=2", None, ["page"]),
    ("user", "get", "/api/me/recommendations/?k=5&limit=5", None, ["limit"]),
    ("user", "get", "/api/me/ratings/?ordering=score", None, ["ordering"]),
    ("user", "post", "/api/rank/?debug=1", {"movie_ids": [1, 2]}, ["debug"]),
    ("staff", "get", "/api/users/1/recommendations/?k=5&genre=Drama", None, ["genre"]),
    ("staff", "get", "/api/models/?status=active&page=1", None, ["status"]),
]


@pytest.mark.parametrize(
    ("caller", "method", "path", "body", "unknown"), UNKNOWN, ids=[f"{c[1]} {c[2]}" for c in UNKNOWN]
)
def test_unknown_query_parameters_are_a_400_naming_them(clients, users, movies, caller, method, path, body, unknown):
    response = getattr(clients[caller], method)(path, body, format="json")
    assert response.status_code == 400, response.content
    payload = response.json()
    assert set(payload) == {"message", "extra"} and payload["extra"]["unknown"] == unknown
    assert payload["message"].startswith("Unknown query parameter")
    assert all(name in payload["message"] for name in unknown)


def test_the_answer_says_what_the_endpoint_takes(clients, movies):
    response = clients["anonymous"].get("/api/movies/?q=godfather")
    accepted = ["genre", "ordering", "page", "page_size", "search", "year_max", "year_min"]
    assert response.json() == {
        "message": f"Unknown query parameter: q (this endpoint takes: {', '.join(accepted)}).",
        "extra": {"unknown": ["q"], "accepted": accepted},
    }
    bare = clients["anonymous"].get("/api/movies/1/?x=1&y=2").json()
    assert bare == {
        "message": "Unknown query parameters: x, y (this endpoint takes: none).",
        "extra": {"unknown": ["x", "y"], "accepted": []},
    }


def test_a_refused_request_changes_nothing(clients, users, movies, monkeypatch):
    dropped = []
    monkeypatch.setattr(vectors_api, "vectors_drop_all", lambda: dropped.append(True))
    put = clients["user"].put("/api/me/ratings/1/?score=5", {"score": 4}, format="json")
    assert put.status_code == 400 and put.json()["extra"]["unknown"] == ["score"]
    assert not Rating.objects.exists()
    drop = clients["staff"].delete("/api/vectors/?confirm=drop+all+vectors&force=1")
    assert drop.status_code == 400 and drop.json()["extra"] == {"unknown": ["force"], "accepted": ["confirm"]}
    assert dropped == []
    assert clients["staff"].delete("/api/vectors/?confirm=drop+all+vectors").status_code == 204
    assert dropped == [True]


@pytest.mark.parametrize(
    ("caller", "path"),
    [
        (
            "anonymous",
            "/api/movies/?search=film&genre=Drama&year_min=1980&year_max=2000&ordering=title&page=1&page_size=2",
        ),
        ("anonymous", "/api/movies/?format=json"),  # DRF's renderer override is accepted everywhere
        ("anonymous", "/api/movies/1/similar/?k=3&format=json"),
        ("user", "/api/me/ratings/?page=1&page_size=5"),
        ("user", "/api/me/recommendations/?k=3&genre=Drama&explore=0.5&max_per_genre=2&year_min=1980&year_max=2000"),
        ("staff", "/api/models/?page_size=5"),
    ],
)
def test_documented_parameters_pagination_and_format_are_accepted(clients, movies, caller, path):
    response = clients[caller].get(path)
    assert response.status_code == 200, response.content


@pytest.mark.parametrize(
    ("caller", "method", "path", "status"),
    [
        ("anonymous", "get", "/api/me/ratings/?x=1", 401),  # authentication is answered first
        ("user", "get", "/api/models/?x=1", 403),  # and permissions
        ("user", "post", "/api/movies/?x=1", 405),  # an unserved method stays a 405
        ("user", "get", "/api/nowhere/?x=1", 404),  # no endpoint: a 404 whatever the query
    ],
)
def test_other_errors_come_first(clients, movies, caller, method, path, status):
    assert getattr(clients[caller], method)(path).status_code == status


def test_every_operation_accepts_exactly_the_query_parameters_its_schema_documents(client):
    paths = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    checked = 0
    for path, operations in paths.items():
        view_class = resolve(re.sub(r"\{\w+\}", "1", path)).func.view_class
        for method, operation in operations.items():
            api = getattr(view_class, "operations", {}).get(method, view_class)
            documented = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
            assert query_parameters_accepted(api) == documented, (method, path)
            checked += 1
    assert checked >= 20  # every operation was looked at

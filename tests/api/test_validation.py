"""Bad input is a 400 naming the field, in the one error format; never a 500. Table-driven."""

import pytest

pytestmark = pytest.mark.usefixtures("without_model")

# (caller, method, path, body, field named in extra.fields)
CASES = [
    ("user", "get", "/api/movies/?year_min=1.5", None, "year_min"),
    ("user", "get", "/api/movies/?year_min=abc", None, "year_min"),
    ("user", "get", "/api/movies/?year_max=99999", None, "year_max"),
    ("user", "get", "/api/movies/?year_min=2000&year_max=1990", None, "year_min"),
    ("user", "get", "/api/movies/?genre=Nope", None, "genre"),
    ("user", "get", "/api/movies/?ordering=price", None, "ordering"),
    ("user", "get", "/api/movies/?search=" + "x" * 101, None, "search"),
    ("user", "get", "/api/movies/?search=a%00b", None, "search"),
    ("user", "get", "/api/movies/1/similar/?k=0", None, "k"),
    ("user", "get", "/api/movies/1/similar/?k=101", None, "k"),
    ("user", "get", "/api/me/recommendations/?k=true", None, "k"),
    ("user", "get", "/api/me/recommendations/?k=1e3", None, "k"),
    ("user", "get", "/api/me/recommendations/?genre=Sci-Fi%27%20or%201", None, "genre"),
    ("user", "get", "/api/me/recommendations/?explore=nan", None, "explore"),
    ("user", "get", "/api/me/recommendations/?explore=1.5", None, "explore"),
    ("user", "get", "/api/me/recommendations/?year_min=-5", None, "year_min"),
    ("user", "put", "/api/me/ratings/1/", {}, "score"),
    ("user", "put", "/api/me/ratings/1/", {"score": 6}, "score"),
    ("user", "put", "/api/me/ratings/1/", {"score": 0}, "score"),
    ("user", "put", "/api/me/ratings/1/", {"score": "4"}, "score"),
    ("user", "put", "/api/me/ratings/1/", {"score": "3.5"}, "score"),
    ("user", "put", "/api/me/ratings/1/", {"score": 3.25}, "score"),
    ("user", "put", "/api/me/ratings/1/", {"score": 5.5}, "score"),
    ("user", "put", "/api/me/ratings/1/", {"score": 0.4}, "score"),
    ("user", "put", "/api/me/ratings/1/", {"score": 10**400}, "score"),
    ("user", "put", "/api/me/ratings/1/", {"score": True}, "score"),
    ("user", "put", "/api/me/ratings/1/", {"score": None}, "score"),
    ("user", "post", "/api/rank/", {"movie_ids": []}, "movie_ids"),
    ("user", "post", "/api/rank/", {"movie_ids": "1,2"}, "movie_ids"),
    ("user", "post", "/api/rank/", {"movie_ids": [1, "2"]}, "movie_ids"),
    ("user", "post", "/api/rank/", {"movie_ids": [1, 2.5]}, "movie_ids"),
    ("user", "post", "/api/rank/", {"movie_ids": list(range(1, 502))}, "movie_ids"),
    ("user", "post", "/api/rank/", {"movie_ids": [2**40]}, "movie_ids"),
    ("staff", "get", "/api/users/1/recommendations/?k=-1", None, "k"),
    ("staff", "post", "/api/recall/", {"top_k": 501, "hist_item": [[1]]}, "top_k"),
    ("staff", "post", "/api/recall/", {"top_k": False, "hist_item": [[1]]}, "top_k"),
    ("staff", "post", "/api/recall/", {"top_k": 5}, "hist_item"),
    ("staff", "post", "/api/recall/", {"top_k": 5, "hist_item": []}, "hist_item"),
    ("staff", "post", "/api/recall/", {"top_k": 5, "hist_item": [[1]] * 101}, "hist_item"),
    ("staff", "post", "/api/recall/", {"top_k": 5, "hist_item": [list(range(1, 502))]}, "hist_item"),
    ("staff", "post", "/api/recall/", {"top_k": 5, "hist_item": [[1, "x"]]}, "hist_item"),
    ("staff", "post", "/api/recall/", {"top_k": 5, "hist_item": [1, 2]}, "hist_item"),
    ("staff", "post", "/api/batch-jobs/", {"k": 5}, "users"),
    ("staff", "post", "/api/batch-jobs/", {"users": [1], "all": True}, "users"),
    ("staff", "post", "/api/batch-jobs/", {"users": [999]}, "users"),
    ("staff", "post", "/api/batch-jobs/", {"all": True, "k": 101}, "k"),
    ("staff", "post", "/api/batch-jobs/", {"all": True, "format": "xml"}, "format"),
    ("staff", "post", "/api/models/train/", {"config": "fast"}, "config"),
    ("staff", "delete", "/api/vectors/", None, "confirm"),
    ("staff", "delete", "/api/vectors/?confirm=yes", None, "confirm"),
    ("anonymous", "post", "/api/auth/token/", {"username": "alice"}, "password"),
]


@pytest.mark.parametrize(
    ("caller", "method", "path", "body", "field"), CASES, ids=[f"{c[2]} {c[3]}"[:80] for c in CASES]
)
def test_invalid_input_names_the_field(clients, movies, caller, method, path, body, field):
    response = getattr(clients[caller], method)(path, body, format="json")
    assert response.status_code == 400, response.content
    payload = response.json()
    assert payload["message"] == "Validation error"
    assert field in payload["extra"]["fields"], payload


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("get", "/api/movies/999/", None, 404),
        ("get", "/api/movies/9999999999/", None, 404),  # longer than any id: the API's JSON 404, not HTML
        ("get", "/api/movies/999/similar/", None, 404),
        ("delete", "/api/me/ratings/5/", None, 404),
        ("get", "/api/nowhere/", None, 404),
        ("patch", "/api/movies/1/", {}, 405),
        ("get", "/api/movies/?page=99", None, 404),
    ],
)
def test_errors_share_one_format(clients, movies, method, path, body, status):
    response = getattr(clients["user"], method)(path, body, format="json")
    assert response.status_code == status
    assert set(response.json()) == {"message", "extra"}


def test_malformed_json_is_a_400(clients, movies):
    response = clients["user"].put("/api/me/ratings/1/", "{score: ", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["message"].startswith("JSON parse error")


def test_rating_an_unknown_movie_is_a_404(clients, movies):
    response = clients["user"].put("/api/me/ratings/999/", {"score": 3}, format="json")
    assert response.status_code == 404
    assert response.json() == {"message": "movie 999 does not exist", "extra": {"field": "movie_id"}}


def test_train_while_one_runs_is_409(clients, movies):
    from recommender.models import ModelVersion

    ModelVersion.objects.create(number=3, status=ModelVersion.Status.TRAINING)
    response = clients["staff"].post("/api/models/train/", {}, format="json")
    assert response.status_code == 409
    assert "model version 3" in response.json()["message"]


def test_throttled_is_429_with_wait(clients, movies, settings):
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "user": "2/minute"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    codes = [clients["user"].get("/api/movies/").status_code for _ in range(3)]
    last = clients["user"].get("/api/movies/")
    assert codes == [200, 200, 429] and last.status_code == 429
    assert set(last.json()) == {"message", "extra"} and "wait" in last.json()["extra"]

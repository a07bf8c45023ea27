"""Bodies the API cannot read (too large, too many fields, nested too deep) are a 400 in the one error format,
with DEBUG on or off; never a 500 or an HTML page. The same over a real server: tests/faults/test_hostile_bodies.py.
"""

import json

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from api.parsers import MAX_DEPTH, nesting_exceeds

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("without_model")]

NESTED_6KB = "[" * 3072 + "]" * 3072


def deep_object(levels: int) -> str:
    return '{"a": ' * (levels - 1) + "{}" + "}" * (levels - 1)


def assert_json_400(response, *, says: str) -> None:
    assert response.status_code == 400, response.content[:500]
    assert response["Content-Type"] == "application/json"
    body = json.loads(response.content)
    assert set(body) == {"message", "extra"} and says in body["message"], body


@pytest.fixture(params=[True, False], ids=["DEBUG on", "DEBUG off"])
def debug(request, settings):
    settings.DEBUG = request.param
    return request.param


def raw(client, path: str, body: bytes | str, content_type: str, **headers):
    return client.generic("POST", path, body, content_type=content_type, **headers)


def test_nesting_is_measured_without_recursion():
    assert not nesting_exceeds({"hist_item": [[1, 2], []]}, 3) and nesting_exceeds({"hist_item": [[1, 2]]}, 2)
    assert not nesting_exceeds("text", 0) and not nesting_exceeds(7, 0)
    assert nesting_exceeds(json.loads("[" * 900 + "]" * 900), MAX_DEPTH)  # deeper than Python would recurse


@pytest.mark.parametrize(
    "body",
    [NESTED_6KB, "[" * 200_000, deep_object(MAX_DEPTH + 1), json.dumps({"username": json.loads(deep_object(40))})],
    ids=["6 KB of [[[[", "200 KB unclosed", f"objects {MAX_DEPTH + 1} deep", "a field 41 deep"],
)
def test_deeply_nested_json_to_the_anonymous_token_endpoint_is_a_400(debug, body):
    assert_json_400(raw(APIClient(), "/api/auth/token/", body, "application/json"), says="nest deeper than")


def test_nesting_up_to_the_limit_is_parsed(clients):
    """The limit refuses nothing the API accepts: a recall body is two levels; 32 levels still parse."""
    response = raw(APIClient(), "/api/auth/token/", deep_object(MAX_DEPTH), "application/json")
    assert response.status_code == 400 and json.loads(response.content)["message"] == "Validation error"
    response = clients["user"].put("/api/me/ratings/1/", {"score": 4}, format="json")
    assert response.status_code == 404  # movie 1 does not exist here: the body itself was read


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", lambda size: json.dumps({"username": "a" * size, "password": "x"})),
        ("application/x-www-form-urlencoded", lambda size: "username=alice&password=" + "x" * size),
    ],
    ids=["json", "form"],
)
@pytest.mark.parametrize("caller", ["anonymous", "user"])
def test_a_body_over_data_upload_max_memory_size_is_a_400(debug, clients, caller, content_type, body):
    size = settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1
    response = raw(clients[caller], "/api/auth/token/", body(size), content_type)
    assert_json_400(response, says=f"at most {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes")
    response = raw(clients[caller], "/api/rank/", body(size), content_type)
    if caller == "anonymous":
        assert response.status_code == 401  # authentication comes before the body is read
    else:
        assert_json_400(response, says="at most")


def test_too_many_form_fields_is_a_400(debug, clients):
    body = "&".join(f"f{i}=1" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))
    response = raw(clients["user"], "/api/rank/", body, "application/x-www-form-urlencoded")
    assert_json_400(response, says="DATA_UPLOAD_MAX_NUMBER_FIELDS")


def test_a_refused_body_is_a_400_for_a_browser_too(debug, clients):
    """The browsable API renders the answer for Accept: text/html; it must not try to read the body again."""
    size = settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1
    body = json.dumps({"movie_ids": [1] * (size // 3)})
    response = raw(clients["user"], "/api/rank/", body, "application/json", HTTP_ACCEPT="text/html")
    assert response.status_code == 400
    response = raw(clients["user"], "/api/rank/", NESTED_6KB, "application/json", HTTP_ACCEPT="text/html")
    assert response.status_code == 400


def test_an_unhandled_error_under_api_is_json_when_debug_is_off(users, settings, monkeypatch):
    """Django's own 500 answer (a bug, DEBUG off) is the API's format under /api/, the site's page elsewhere."""
    from api import movies as movies_api

    settings.DEBUG = False

    def broken(**kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(movies_api, "movie_list", broken)
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(users["user"])
    response = client.get("/api/movies/")
    assert response.status_code == 500 and response["Content-Type"] == "application/json"
    assert set(json.loads(response.content)) == {"message", "extra"}
    monkeypatch.setattr("web.views.pages.movie_list", broken)
    page = APIClient(raise_request_exception=False).get("/movies/")
    assert page.status_code == 500 and page["Content-Type"].startswith("text/html")

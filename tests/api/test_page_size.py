"""page_size is validated like every other query parameter: 400 naming it, the range stated in the schema."""

import pytest

pytestmark = pytest.mark.django_db

LISTS = ["/api/movies/", "/api/me/ratings/", "/api/me/hidden/"]


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("value", ["0", "-5", "abc", "1000", "101", "2.5", "", "1e2", "99999999999999999999"])
def test_a_page_size_out_of_range_or_not_a_number_is_a_400_naming_it(clients, movies, path, value):
    response = clients["user"].get(path, {"page_size": value})
    assert response.status_code == 400, response.content
    assert "page_size" in response.json()["extra"]["fields"], response.json()


@pytest.mark.parametrize("value", [1, 100])
def test_the_ends_of_the_range_are_served(clients, movies, value):
    page = clients["user"].get("/api/movies/", {"page_size": value}).json()
    assert len(page["results"]) == min(value, page["count"])


def test_the_schema_states_the_range(clients):
    schema = clients["user"].get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    parameters = schema["paths"]["/api/movies/"]["get"]["parameters"]
    page_size = next(p for p in parameters if p["name"] == "page_size")
    assert page_size["schema"] == {"type": "integer", "minimum": 1, "maximum": 100}

"""Query-count guards: list endpoints cost a fixed number of queries, whatever the page size (no N+1)."""

import pytest

from movies.services import rating_upsert
from recommender.models import ModelVersion

pytestmark = pytest.mark.usefixtures("without_model")

# auth (token + user) + the endpoint's own queries; the same bound for 3 or 12 rows per page
LISTS = [
    ("user", "/api/movies/?page_size={n}", 6),
    ("user", "/api/movies/?genre=Drama&ordering=rating&page_size={n}", 7),
    ("user", "/api/me/ratings/?page_size={n}", 4),
    ("staff", "/api/models/?page_size={n}", 5),
    ("user", "/api/me/recommendations/?k={n}", 8),
]


@pytest.mark.parametrize(("caller", "path", "bound"), LISTS)
@pytest.mark.parametrize("n", [3, 12])
def test_list_queries_do_not_grow_with_page_size(
    clients, users, movies, django_assert_max_num_queries, caller, path, bound, n
):
    for movie in movies:
        rating_upsert(user=users["user"], movie_id=movie.pk, score=3)
    for number in range(1, 13):
        ModelVersion.objects.create(number=number, status=ModelVersion.Status.INACTIVE)
    with django_assert_max_num_queries(bound):
        response = clients[caller].get(path.format(n=n))
    assert response.status_code == 200


def test_movie_list_shows_genres_and_filters(clients, movies):
    page = clients["user"].get("/api/movies/?genre=Drama&year_min=1985&ordering=title").json()
    titles = [m["title"] for m in page["results"]]
    assert titles == sorted(titles) and titles
    assert all("Drama" in m["genres"] and m["year"] >= 1985 for m in page["results"])
    first = clients["user"].get("/api/movies/1/").json()
    assert first == {
        "id": 1,
        "title": "Film 01",
        "display_title": "Film 01",
        "year": 1981,
        "genres": ["Comedy", "Drama"],
        "rating_count": 99,
        "average_rating": 3.03,  # 300 / 99 = 3.0303..., to 2 decimals
    }

"""How a movie is shown: the stored title, a display title as people write it, the average to 2 decimals."""

import pytest
from rest_framework.test import APIClient

from movies.models import Movie


@pytest.mark.parametrize(
    ("title", "rating_total", "rating_count", "display_title", "average_rating"),
    [
        ("Godfather, The (1972)", 7, 3, "The Godfather", 2.33),
        ("Seven (Se7en) (1995)", 5, 3, "Seven (Se7en)", 1.67),
        ("Toy Story (1995)", 9, 2, "Toy Story", 4.5),
        ("Heat (1995)", 400, 100, "Heat", 4.0),
        ("Unseen (2000)", 0, 0, "Unseen", None),
    ],
)
def test_movie_fields(db, title, rating_total, rating_count, display_title, average_rating):
    movie = Movie.objects.create(id=7, title=title, year=1995, rating_total=rating_total, rating_count=rating_count)
    body = APIClient().get(f"/api/movies/{movie.pk}/").json()
    assert body == {
        "id": movie.pk,
        "title": title,
        "display_title": display_title,
        "year": 1995,
        "genres": [],
        "rating_count": rating_count,
        "average_rating": average_rating,
    }


def test_nested_movies_are_shown_the_same_way(db, without_model):
    Movie.objects.create(id=1, title="Godfather, The (1972)", year=1972, rating_total=10, rating_count=3)
    Movie.objects.create(id=2, title="Heat (1995)", year=1995, rating_total=3, rating_count=1)
    items = APIClient().get("/api/movies/2/similar/?k=1").json()["items"]
    assert [item["movie"]["display_title"] for item in items] == ["The Godfather"]
    assert items[0]["movie"]["average_rating"] == 3.33

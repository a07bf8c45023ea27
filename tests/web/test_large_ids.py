"""Ids beyond the database's integer range are the site's 404, as in the API (#24): every site URL that takes a movie
id, for GET and POST, signed in or not (a 20-digit id was an OverflowError on SQLite, a 500). The admin's change
pages too."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

HUGE = ["99999999999999999999", "2147483648", "9223372036854775808", "1" * 300]
PATHS = ["movies/{}/", "movies/{}/rate/", "movies/{}/rate/undo/", "movies/{}/hide/", "movies/{}/unhide/"]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("method", ["get", "post"])
def test_a_movie_id_beyond_the_integer_range_is_the_sites_404(client, alice, movies, path, method):
    for signed_in in (False, True):
        if signed_in:
            client.force_login(alice)
        for movie_id in HUGE:
            response = getattr(client, method)("/" + path.format(movie_id), {"score": "4"} if method == "post" else {})
            assert response.status_code == 404, (path, movie_id, signed_in, response.status_code)
            assert "404.html" in [t.name for t in response.templates]


def test_ids_in_range_still_route(alice_client, movies):
    movie = movies[0]
    assert alice_client.get(reverse("movie_detail", args=[movie.pk])).status_code == 200
    assert reverse("movie_detail", args=[123456789]) == "/movies/123456789/"
    assert alice_client.get("/movies/123456789/").status_code == 404  # 9 digits: routed, no such movie


@pytest.mark.parametrize("model", ["movies/movie", "auth/user", "movies/rating"])
def test_the_admins_change_pages_answer_a_huge_id_without_a_500(client, staff, model):
    client.force_login(staff)
    for movie_id in HUGE[:2]:
        response = client.get(f"/admin/{model}/{movie_id}/change/")
        assert response.status_code in (302, 404), (model, movie_id, response.status_code)  # admin: "doesn't exist"

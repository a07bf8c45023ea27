"""Hidden movies never come back with the package's real tiny model serving (Milvus Lite in a temporary folder):
"for you", the home page's genre rows, similar movies, the API's recommendations."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from movies.services import movie_hide
from recommender.services.recommendations import recommend_for_user, recommend_home, similar_movies
from tests.factories import UserFactory, token_client

pytestmark = [
    pytest.mark.slow(reason="the package trains a tiny model once (train_model) and serves it from Milvus Lite"),
    pytest.mark.django_db,
]
JSON = {"HTTP_ACCEPT": "application/json"}
HORROR = [4, 10, 16, 22, 28]  # tiny catalogue: movie m has genre GENRES[(m - 1) % 6]


@pytest.fixture
def fan(client, trained):
    """A logged-in user who rated five horror movies through the site."""
    user = UserFactory(username="hidden-horror-fan")
    client.force_login(user)
    for movie_id in HORROR:
        response = client.post(reverse("movie_rate", args=[movie_id]), {"score": 5}, **JSON)
        assert response.status_code == 200
    return user


def ids(recs) -> list[int]:
    return [item.movie.pk for item in recs.items]


def test_hidden_movies_leave_for_you_and_the_next_best_take_their_place(fan, trained):
    before = recommend_for_user(user=fan, k=10)
    assert before.fallback is False and before.model_version == trained.number and len(before.items) == 10
    hidden = ids(before)[:3]
    for movie_id in hidden:
        movie_hide(user=fan, movie_id=movie_id)
    after = recommend_for_user(user=fan, k=10)
    assert after.fallback is False and len(after.items) == 10
    assert not set(hidden) & set(ids(after)) and not set(HORROR) & set(ids(after))
    assert ids(after)[:7] == ids(before)[3:]  # the rest keep their order: only the hidden ones went
    # the over-fetching paths (exploration, genre cap, a genre filter) exclude them too
    for kwargs in ({"explore": 0.5}, {"max_per_genre": 2}, {"genre": "Horror"}):
        assert not set(hidden) & set(ids(recommend_for_user(user=fan, k=10, **kwargs))), kwargs


def test_the_home_page_never_shows_a_hidden_movie(client, fan):
    rows = recommend_home(user=fan, k=12, rows=3, row_k=6)
    shown = ids(rows.for_you) + [m for _, row in rows.genre_rows for m in ids(row)]
    hidden = [ids(rows.for_you)[0], *[ids(row)[0] for _, row in rows.genre_rows]]
    for movie_id in hidden:
        response = client.post(reverse("movie_hide", args=[movie_id]), **JSON)
        assert response.status_code == 200
        assert movie_id not in [i["movie_id"] for i in response.json()["recommendations"]["items"]]
    response = client.get("/")
    assert response.context["for_you"].fallback is False
    on_page = ids(response.context["for_you"]) + [m for _, row in response.context["genre_rows"] for m in ids(row)]
    assert shown and on_page and not set(hidden) & set(on_page)


def test_the_home_page_reads_hidden_ids_in_one_query_once_per_change(client, fan):
    client.get("/")  # warm: the model is loaded, movie rows cached
    movie_hide(user=fan, movie_id=ids(recommend_for_user(user=fan, k=1))[0])
    with CaptureQueriesContext(connection) as captured:
        client.get("/")
    reads = [q["sql"] for q in captured.captured_queries if "movies_hiddenmovie" in q["sql"]]
    assert len(reads) == 1 and '"user_id" =' in reads[0]
    with CaptureQueriesContext(connection) as captured:  # nothing changed since: the cached state serves
        client.get("/")
    assert not [q for q in captured.captured_queries if "movies_hiddenmovie" in q["sql"]]


def test_similar_movies_leave_out_what_the_user_hid(client, fan):
    everyone = ids(similar_movies(movie_id=4, k=8))
    assert everyone and 4 not in everyone
    for movie_id in everyone[:3]:
        movie_hide(user=fan, movie_id=movie_id)
    mine = similar_movies(movie_id=4, k=8, user=fan)
    assert mine.fallback is False and len(mine.items) == 8 and not set(everyone[:3]) & set(ids(mine))
    page = client.get(reverse("movie_detail", args=[4])).context["similar"]
    assert not set(everyone[:3]) & set(ids(page)) and ids(similar_movies(movie_id=4, k=8)) == everyone


def test_the_api_recommendations_leave_out_movies_hidden_through_the_api(trained):
    api = token_client(UserFactory(username="hidden-api-user"))
    for movie_id in HORROR[:3]:
        assert api.put(f"/api/me/ratings/{movie_id}/", {"score": 5}, format="json").status_code == 201
    before = [i["movie"]["id"] for i in api.get("/api/me/recommendations/?k=10").json()["items"]]
    for movie_id in before[:2]:
        assert api.post("/api/me/hidden/", {"movie_id": movie_id}, format="json").status_code == 201
    after = api.get("/api/me/recommendations/?k=10").json()
    assert after["fallback"] is False and len(after["items"]) == 10
    assert not set(before[:2]) & {i["movie"]["id"] for i in after["items"]}
    assert api.delete(f"/api/me/hidden/{before[0]}/").status_code == 204
    again = [i["movie"]["id"] for i in api.get("/api/me/recommendations/?k=10").json()["items"]]
    assert before[0] in again  # shown again: it can come back


def test_the_api_similar_list_leaves_out_what_the_signed_in_user_hid(trained):
    api = token_client(UserFactory(username="hidden-similar-api-user"))
    everyone = [i["movie"]["id"] for i in api.get("/api/movies/4/similar/?k=8").json()["items"]]
    assert everyone and 4 not in everyone
    assert api.post("/api/me/hidden/", {"movie_id": everyone[0]}, format="json").status_code == 201
    mine = api.get("/api/movies/4/similar/?k=8").json()
    assert mine["fallback"] is False and everyone[0] not in [i["movie"]["id"] for i in mine["items"]]
    anonymous = api.__class__().get("/api/movies/4/similar/?k=8").json()  # the public list is everyone's
    assert [i["movie"]["id"] for i in anonymous["items"]] == everyone

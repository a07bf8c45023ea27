"""The site with the package's real tiny two-tower model (Milvus Lite in a temporary folder): personal suggestions
with reasons, similar movies from the model, the home page's bounded queries and Milvus searches."""

import pytest
from django.urls import reverse

from movies.services import rating_upsert
from tests.factories import UserFactory

pytestmark = [
    pytest.mark.slow(reason="the package trains a tiny model once (train_model) and serves it from Milvus Lite"),
    pytest.mark.django_db,
]
JSON = {"HTTP_ACCEPT": "application/json"}
HORROR = [4, 10, 16, 22, 28]  # tiny catalogue: movie m has genre GENRES[(m - 1) % 6]


def rate_json(client, movie_id: int, score: int) -> dict:
    response = client.post(reverse("movie_rate", args=[movie_id]), {"score": score}, **JSON)
    assert response.status_code == 200, response.content
    return response.json()


def test_home_shows_personal_suggestions_with_reasons(client, trained):
    client.force_login(UserFactory(username="site-horror-fan"))
    for movie_id in HORROR:
        data = rate_json(client, movie_id, 5)
    assert data["recommendations"]["fallback"] is False
    response = client.get("/")
    recs = response.context["for_you"]
    body = response.content.decode()
    assert recs.fallback is False and recs.model_version == trained.number
    assert "Popular picks for now" not in body
    assert not set(HORROR) & {item.movie.pk for item in recs.items}
    assert all(item.because.pk in HORROR for item in recs.items) and "Because you rated" in body


def test_similar_movies_come_from_the_model(client, trained):
    response = client.get(reverse("movie_detail", args=[4]))
    similar = response.context["similar"]
    assert similar.fallback is False and similar.items and 4 not in [i.movie.pk for i in similar.items]
    assert "No similarity model yet" not in response.content.decode()


def test_home_page_makes_one_milvus_search_and_a_bounded_number_of_queries(
    client, trained, monkeypatch, django_assert_max_num_queries
):
    """One user vector and one candidate search feed "for you" and every genre row (issue #12)."""
    from recommender.vectorstore import get_vector_store

    user = UserFactory(username="site-one-pass")
    client.force_login(user)
    for movie_id in HORROR:
        rate_json(client, movie_id, 5)
    client.get("/")  # warm: the model is loaded, movie rows cached
    rating_upsert(user=user, movie_id=HORROR[-1], score=4)  # a write: the next page recomputes vector and pool
    store = get_vector_store()
    real, calls = store.search_many, []
    monkeypatch.setattr(store, "search_many", lambda *a, **kw: calls.append(kw.get("genres")) or real(*a, **kw))
    with django_assert_max_num_queries(12):
        response = client.get("/")
    rows = response.context["genre_rows"]
    assert response.context["for_you"].fallback is False and rows
    shown = [item.movie.pk for item in response.context["for_you"].items]
    shown += [item.movie.pk for _, row in rows for item in row.items]
    assert len(shown) == len(set(shown))  # no movie twice on the page
    assert len(calls) <= 1 + len(rows) and calls[0] is None  # one search for all, a genre search only if thin
    thin_rows = len(calls) - 1
    with django_assert_max_num_queries(8):  # a repeat visit: the cached candidates, no history or hidden reads
        again = client.get("/")
    assert len(calls) == 1 + 2 * thin_rows  # only thin genre rows ask Milvus again
    assert [i.movie.pk for i in again.context["for_you"].items] == [
        i.movie.pk for i in response.context["for_you"].items
    ]

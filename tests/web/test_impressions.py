"""Impressions on the site (popularity here: no model; the API's live test has a trained version): the home rows,
the "for you" list and similar movies are recorded, their movie links carry ?imp=<id>, opening one records a click,
and a rating or "not interested" from the site is attributed."""

import re

import pytest

from recommender.impressions.models import Impression, ImpressionClick
from recommender.impressions.selectors import online_figures, version_impressions
from tests.factories import RatingFactory, UserFactory

JSON = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture
def rated(alice, movies):
    RatingFactory(user=alice, movie=movies[0], score=5)
    return alice


def links(body: str) -> list[tuple[int, str]]:
    """(movie id, impression id) of every card link that carries one."""
    return [(int(m), imp) for m, imp in re.findall(r'href="/movies/(\d+)/\?imp=([0-9a-f-]{36})"', body)]


def test_the_home_page_records_each_row_and_links_carry_its_impression(alice_client, rated, movies):
    response = alice_client.get("/")
    rows = [("site_home", response.context["for_you"])]
    rows += [("site_home_genre", recs) for _, recs in response.context["genre_rows"]]
    assert len(rows) > 1
    impressions = {i.pk: i for i in Impression.objects.filter(user=rated)}
    assert len(impressions) == len(rows)
    body_links = links(response.content.decode())
    for surface, recs in rows:
        impression = impressions[recs.impression_id]
        movie_ids = [item.movie.pk for item in recs.items]
        assert impression.surface == surface and impression.model_version is None
        assert list(impression.items.order_by("position").values_list("movie_id", flat=True)) == movie_ids
        assert [m for m, imp in body_links if imp == str(recs.impression_id)] == movie_ids


def test_opening_a_recommended_movie_records_a_click_and_its_similar_movies(alice_client, rated, movies):
    home = alice_client.get("/")
    movie_id, impression_id = links(home.content.decode())[1]
    page = alice_client.get(f"/movies/{movie_id}/?imp={impression_id}")
    assert page.status_code == 200
    click = ImpressionClick.objects.get()
    assert (str(click.impression_id), click.movie_id) == (impression_id, movie_id)
    similar = Impression.objects.get(surface="site_similar")
    assert similar.pk == page.context["similar"].impression_id and similar.items.count() == len(
        page.context["similar"].items
    )
    assert online_figures(version_impressions(None))["clicks"] == 1


def test_bad_foreign_or_unshown_click_ids_record_nothing_and_never_fail_the_page(alice_client, rated, movies):
    home = alice_client.get("/")
    movie_id, impression_id = links(home.content.decode())[0]
    not_shown = next(m.pk for m in movies if m.pk not in {m for m, _ in links(home.content.decode())})
    assert alice_client.get(f"/movies/{movie_id}/?imp=not-a-uuid").status_code == 200
    assert alice_client.get(f"/movies/{not_shown}/?imp={impression_id}").status_code == 200
    bob_client = alice_client.__class__()
    bob_client.force_login(UserFactory(username="bob"))
    assert bob_client.get(f"/movies/{movie_id}/?imp={impression_id}").status_code == 200
    assert not ImpressionClick.objects.exists()


def test_anonymous_pages_record_nothing(client, movies):
    body = client.get("/").content.decode() + client.get(f"/movies/{movies[2].pk}/").content.decode()
    assert not links(body) and not Impression.objects.exists()


def test_a_site_rating_and_not_interested_are_attributed_and_the_refresh_is_recorded(alice_client, rated, movies):
    home = alice_client.get("/")
    first, second = (item.movie.pk for item in home.context["for_you"].items[:2])
    data = alice_client.post(f"/movies/{first}/rate/", {"score": "4"}, **JSON).json()
    alice_client.post(f"/movies/{second}/hide/")
    refreshed = Impression.objects.get(surface="site_for_you")  # the "for you" fragment sent back after the rating
    assert data["recommendations"]["impression_id"] == str(refreshed.pk)
    assert f"?imp={refreshed.pk}" in data["recommendations_html"]
    figures = online_figures(version_impressions(None), by_surface=True)
    assert (figures["rated_after_shown"], figures["hidden_after_shown"]) == (1, 1)
    assert figures["surfaces"]["site_home"]["rated_after_shown"] == 1


def test_a_failed_write_never_fails_the_home_page(alice_client, rated, movies, monkeypatch):
    from recommender.impressions.models import ImpressionItem

    # the database refuses the items' insert (no such table): a real error from the real database
    monkeypatch.setattr(ImpressionItem._meta, "db_table", "impression_items_gone")
    response = alice_client.get("/")
    assert response.status_code == 200 and response.context["for_you"].items
    assert not links(response.content.decode()) and not Impression.objects.exists()


def test_the_admin_version_page_shows_online_figures_per_surface_and_a_plot(client, staff, alice, movies):
    from recommender.impressions.services import impression_record
    from recommender.services.recommendations import Recommendations, RecommendedItem
    from tests.factories import ModelVersionFactory

    version = ModelVersionFactory(number=4)
    for surface in ("site_home", "api_recommendations"):
        items = [RecommendedItem(movie=m, score=1.0) for m in movies[:3]]
        impression_record(user=alice, surface=surface, recs=Recommendations(items=items, model_version=4))
    RatingFactory(user=alice, movie=movies[1])
    client.force_login(staff)
    body = client.get(f"/admin/recommender/modelversion/{version.pk}/change/").content.decode()
    assert "Online: what users did after this version" in body
    for label in ("all surfaces", "Site: home, recommended for you", "API: /api/me/recommendations/"):
        assert label in body
    assert "100.0% [" in body  # alice rated after being shown: 1 of 1 users, with its interval
    png = client.get(f"/admin/recommender/modelversion/{version.pk}/online.png")
    assert png.status_code == 200 and png["Content-Type"] == "image/png" and png.content[:4] == b"\x89PNG"
    empty = ModelVersionFactory(number=5)
    assert (
        "No list of this version" in client.get(f"/admin/recommender/modelversion/{empty.pk}/change/").content.decode()
    )

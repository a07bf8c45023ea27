"""Titles as people write them on every page (the year once), and searching by the title people say."""

import html

import pytest
from django.urls import reverse

from movies.models import Genre, Movie
from recommender.services.recommendations import HomeRows, Recommendations, RecommendedItem
from tests.factories import RatingFactory
from web.views import suggestions

pytestmark = pytest.mark.django_db

CATALOGUE = [
    (1, "Godfather, The (1972)", 1972, 900, "Crime"),
    (2, "Godfather: Part II, The (1974)", 1974, 800, "Crime"),
    (3, "Shawshank Redemption, The (1994)", 1994, 700, "Drama"),
    (4, "Amelie (Fabuleux destin d'Amélie Poulain, Le) (2001)", 2001, 600, "Comedy"),
    (5, "Misérables, Les (1995)", 1995, 500, "Drama"),
    (6, "Grandson of the Godfather (1990)", 1990, 1000, "Comedy"),
]


@pytest.fixture
def classics() -> dict[int, Movie]:
    made = {}
    for pk, title, year, count, genre in CATALOGUE:
        movie = Movie.objects.create(id=pk, title=title, year=year, rating_count=count, rating_total=count * 4)
        movie.genres.set([Genre.objects.get_or_create(name=genre)[0]])
        made[pk] = movie
    return made


def text(response) -> str:
    return html.unescape(response.content.decode())


def page_ids(response) -> list[int]:
    return [movie.pk for movie in response.context["page"].object_list]


# --- display titles -----------------------------------------------------------------------------------------


def test_browse_cards_show_display_titles_and_the_year_once(client, classics):
    body = text(client.get(reverse("movie_browse")))
    assert ">The Godfather</a>" in body and ">The Shawshank Redemption</a>" in body and ">Les Misérables</a>" in body
    assert "Godfather, The" not in body and "(1972)" not in body
    assert body.count("1972") == 1  # in the card's meta line only


def test_movie_detail_heading_and_page_title(client, classics):
    body = text(client.get(reverse("movie_detail", args=[1])))
    assert "<h1>The Godfather</h1>" in body
    assert "<title>The Godfather (1972) · recsite</title>" in body
    assert "Godfather, The" not in body
    assert body.count("(1972)") == 1  # the page title; the heading has no year, the meta line shows it bare


def test_my_ratings_and_rating_messages_use_display_titles(alice_client, alice, classics):
    response = alice_client.post(reverse("movie_rate", args=[1]), {"score": "5", "next": "/me/ratings/"}, follow=True)
    body = text(response)
    assert "You rated The Godfather 5 out of 5." in body
    assert ">The Godfather</a>" in body and "1972 · rated" in body
    assert "Your rating of The Godfather" in body and "Godfather, The" not in body


def test_onboarding_and_because_explanations_use_display_titles(alice_client, alice, classics, monkeypatch):
    onboarding = text(alice_client.get(reverse("onboarding")))
    assert ">The Godfather</a>" in onboarding and "Godfather, The" not in onboarding

    RatingFactory(user=alice, movie=classics[1], score=5)

    def personal(*, user, k, rows, row_k):
        items = [RecommendedItem(movie=classics[pk], score=0.9, because=classics[1]) for pk in (2, 3)]
        return HomeRows(Recommendations(items=items, model_version=7))

    monkeypatch.setattr(suggestions, "recommend_home", personal)
    home = text(alice_client.get("/"))
    assert home.count('">The Godfather</a></p>') == 2  # "Because you rated The Godfather" on both cards
    assert ">The Godfather: Part II</a>" in home and "Godfather, The" not in home


def test_poster_letter_skips_the_leading_article(client, classics):
    body = text(client.get(reverse("movie_detail", args=[3])))
    assert '<div class="poster poster-large" aria-hidden="true"><span>S</span></div>' in body


# --- search -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query, expected",
    [
        ("the godfather", [1, 2, 6]),  # exact, prefix, contained: match quality before popularity
        ("The Shawshank Redemption", [3]),
        ("amelie", [4]),
        ("les miserables", [5]),
        ("Les Misérables", [5]),
    ],
)
def test_browse_search_by_spoken_title(client, classics, query, expected):
    response = client.get(reverse("movie_browse"), {"q": query})
    assert page_ids(response) == expected
    assert f"{len(expected)} movie" in text(response)


def test_browse_search_ranks_before_the_chosen_sort(client, classics):
    response = client.get(reverse("movie_browse"), {"q": "godfather", "sort": "year"})
    assert page_ids(response) == [1, 2, 6]  # the exact match first although 1990 and 1974 come before 1972


def test_onboarding_search_finds_movies_to_rate(alice_client, classics):
    response = alice_client.get(reverse("onboarding"), {"q": "les miserables"})
    assert response.status_code == 200
    assert [m.pk for m in response.context["results"]] == [5]
    body = text(response)
    assert "Movies matching “les miserables”" in body
    assert 'id="rate-5-4-search"' in body  # a star form of its own (the movie may also be in a genre row)
    assert 'name="q"' in body and 'value="les miserables"' in body


def test_onboarding_without_a_search_shows_only_the_box(alice_client, classics):
    response = alice_client.get(reverse("onboarding"))
    assert response.context["results"] is None
    body = text(response)
    assert 'role="search"' in body and "Movies matching" not in body and "No movie matches" not in body


def test_onboarding_search_without_matches_says_so(alice_client, classics):
    response = alice_client.get(reverse("onboarding"), {"q": "citizen kane"})
    assert response.context["results"] == []
    assert "No movie matches “citizen kane”" in text(response)


def test_onboarding_search_too_long_is_reported(alice_client, classics):
    response = alice_client.get(reverse("onboarding"), {"q": "x" * 101})
    assert response.status_code == 200 and response.context["results"] is None
    assert "at most 100 characters" in text(response)


def test_rating_from_onboarding_search_results_without_js(alice_client, alice, classics):
    back = reverse("onboarding") + "?q=godfather"
    response = alice_client.post(reverse("movie_rate", args=[2]), {"score": "4", "next": back}, follow=True)
    assert response.redirect_chain[-1][0] == back
    body = text(response)
    assert "You rated The Godfather: Part II 4 out of 5." in body
    assert 'id="rate-2-4-search" checked' in body
    assert response.context["rated_count"] == 1

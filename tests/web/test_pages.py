"""Pages render for anonymous and logged-in users; browse filters, sort, pagination and its query budget."""

import pytest
from django.template.loader import render_to_string
from django.urls import reverse

from movies.models import Movie
from recommender.models import ModelVersion
from recommender.services.recommendations import HomeRows, Recommendations, RecommendedItem
from tests.factories import RatingFactory, movies_create
from web.views import suggestions

pytestmark = pytest.mark.django_db


def titles(response) -> list[str]:
    return [m.title for m in response.context["page"].object_list]


def test_home_anonymous_shows_popular_movies_and_signup(client, movies):
    response = client.get("/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Popular movies" in body and reverse("signup") in body
    assert [i.movie.pk for i in response.context["popular"].items][:3] == [1, 2, 3]


def test_home_sends_a_user_without_ratings_to_onboarding(alice_client, movies):
    response = alice_client.get("/")
    assert response.status_code == 302 and response.url == reverse("onboarding")


def test_home_logged_in_shows_suggestions_genre_rows_and_fallback_banner(alice_client, alice, movies):
    RatingFactory(user=alice, movie=movies[0], score=5)
    response = alice_client.get("/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "Recommended for you" in body and "Popular picks for now" in body
    suggested = [i.movie.pk for i in response.context["for_you"].items]
    assert suggested and movies[0].pk not in suggested  # what the user rated is never suggested
    assert response.context["genre_rows"], "a few rows by genre"
    assert all(genre in body for genre, _ in response.context["genre_rows"])


def test_home_shows_the_reason_for_each_personal_suggestion(alice_client, alice, movies, monkeypatch):
    RatingFactory(user=alice, movie=movies[0], score=5)

    def personal(*, user, k, rows, row_k):
        items = [RecommendedItem(movie=m, score=0.9, because=movies[0]) for m in movies[1:4]]
        return HomeRows(Recommendations(items=items, model_version=7))

    monkeypatch.setattr(suggestions, "recommend_home", personal)
    body = alice_client.get("/").content.decode()
    assert body.count("Because you rated") == 3 and movies[0].title in body
    assert "Popular picks for now" not in body


def test_onboarding_shows_diverse_movies_and_a_counter(alice_client, alice, movies):
    RatingFactory(user=alice, movie=movies[0], score=4)
    response = alice_client.get(reverse("onboarding"))
    assert response.status_code == 200
    sections = response.context["sections"]
    assert len(sections) >= 3
    shown = [m.pk for _, ms in sections for m in ms]
    assert len(shown) == len(set(shown)), "each movie once"
    assert response.context["rated_count"] == 1 and response.context["for_you"] is None
    assert "of 5 rated" in response.content.decode()


def test_onboarding_shows_suggestions_after_five_ratings(alice_client, alice, movies):
    for movie in movies[:5]:
        RatingFactory(user=alice, movie=movie, score=4)
    response = alice_client.get(reverse("onboarding"))
    suggested = {item.movie.pk for item in response.context["for_you"].items}
    assert suggested and not suggested & {movie.pk for movie in movies[:5]}  # never a movie just rated
    assert "See your suggestions" in response.content.decode()


def test_onboarding_anonymous_goes_to_signup(client, db):
    assert client.get(reverse("onboarding")).url == reverse("signup")


def test_browse_renders_with_own_ratings(alice_client, alice, movies):
    RatingFactory(user=alice, movie=movies[1], score=3)
    response = alice_client.get(reverse("movie_browse"))
    assert response.status_code == 200
    assert response.context["own"] == {movies[1].pk: 3}
    body = response.content.decode()
    assert f'id="rate-{movies[1].pk}-3" checked' in body and "You: 3/5" in body


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"q": "film 1"}, ["Film 10", "Film 11", "Film 12"]),
        ({"genre": "Action", "sort": "year"}, ["Film 30", "Film 28", "Film 25"]),
        ({"year_min": "2005", "year_max": "2007", "sort": "-year"}, ["Film 25", "Film 26", "Film 27"]),
        ({"sort": "rating"}, ["Film 04", "Film 09", "Film 14"]),
        ({"sort": "title", "q": "Film 0"}, ["Film 01", "Film 02", "Film 03"]),
    ],
)
def test_browse_filters_and_sorts(client, movies, params, expected):
    assert titles(client.get(reverse("movie_browse"), params))[:3] == expected


@pytest.mark.parametrize("params", [{"year_min": "abc"}, {"genre": "Nope"}, {"sort": "bogus"}, {"page": "x"}])
def test_browse_bad_filters_are_reported_not_500(client, movies, params):
    response = client.get(reverse("movie_browse"), params)
    assert response.status_code == 200
    assert len(titles(response)) == 24


def test_browse_inverted_year_range_says_so_and_shows_all_years(client, movies):
    response = client.get(reverse("movie_browse"), {"year_min": "2007", "year_max": "2005"})
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "year_min": ["“From year” (2007) is after “To year” (2005): swap them to see movies from 2005 to 2007. "
                     "Showing all years for now."]
    }  # fmt: skip
    body = response.content.decode()
    assert "is after “To year” (2005)" in body
    assert 'aria-describedby="id_year_min_error"' in body and '<div id="id_year_min_error">' in body
    assert response.context["page"].paginator.count == 30  # not silently empty


def test_browse_equal_years_are_a_valid_range(client, movies):
    response = client.get(reverse("movie_browse"), {"year_min": "2005", "year_max": "2005"})
    assert not response.context["form"].errors and titles(response) == ["Film 25"]


def test_browse_hide_rated_leaves_out_the_users_rated_movies(alice_client, alice, bob, movies):
    RatingFactory(user=alice, movie=movies[0], score=5)
    RatingFactory(user=alice, movie=movies[2], score=2)
    RatingFactory(user=bob, movie=movies[1], score=4)  # another user's rating hides nothing
    response = alice_client.get(reverse("movie_browse"), {"hide_rated": "on"})
    assert response.context["page"].paginator.count == 28
    assert titles(response)[:3] == ["Film 02", "Film 04", "Film 05"]
    body = response.content.decode()
    assert '<input type="checkbox" name="hide_rated" data-autosubmit="" id="id_hide_rated" checked>' in body
    assert alice_client.get(reverse("movie_browse")).context["page"].paginator.count == 30


def test_browse_hide_rated_combines_with_search_and_pagination(alice_client, alice, db):
    for movie in movies_create(60):
        if movie.pk % 2:
            RatingFactory(user=alice, movie=movie, score=3)
    first = alice_client.get(reverse("movie_browse"), {"q": "film", "hide_rated": "on"})
    assert first.context["page"].paginator.count == 30
    assert "?q=film&amp;hide_rated=on&amp;page=2" in first.content.decode()
    second = alice_client.get(reverse("movie_browse"), {"q": "film", "hide_rated": "on", "page": 2})
    assert len(titles(second)) == 6
    assert all(int(title.split()[-1]) % 2 == 0 for title in titles(first) + titles(second))


def test_browse_hide_rated_is_offered_to_logged_in_users_only(client, movies):
    response = client.get(reverse("movie_browse"), {"hide_rated": "on"})
    assert 'name="hide_rated"' not in response.content.decode()
    assert response.context["page"].paginator.count == 30


def test_browse_cards_carry_the_star_form(alice_client, movies):
    response = alice_client.get(reverse("movie_browse"), {"genre": "Drama", "sort": "year"})
    body = response.content.decode()
    first = titles(response)[0]
    movie_id = int(first[-2:])
    assert f'action="{reverse("movie_rate", args=[movie_id])}" data-rate-form data-movie-id="{movie_id}"' in body
    assert body.count("data-rate-form") == len(titles(response))
    assert '<input type="hidden" name="next" value="/movies/?genre=Drama&amp;sort=year">' in body


def test_browse_pagination_keeps_the_query_string(client, db):
    movies_create(60)  # 24 Drama movies (two of every five), and 24 more:
    movies_create(60, start=100)
    params = {"genre": "Drama", "sort": "year"}
    first = client.get(reverse("movie_browse"), params)
    assert first.context["page"].paginator.count == 48 and first.context["page"].has_next()
    assert "?genre=Drama&amp;sort=year&amp;page=2" in first.content.decode()
    second = client.get(reverse("movie_browse"), {**params, "page": 2})
    assert len(titles(second)) == 24
    assert set(titles(second)).isdisjoint(titles(first))
    assert "?genre=Drama&amp;sort=year&amp;page=1" in second.content.decode()


@pytest.mark.parametrize("n_movies", [3, 60])
def test_browse_query_count_does_not_grow_with_the_page(alice_client, alice, n_movies, django_assert_max_num_queries):
    for movie in movies_create(n_movies):
        if movie.pk % 2:
            RatingFactory(user=alice, movie=movie, score=4)
    # session + user, genre choices, count, page, genres prefetch, own ratings, training banner (cached 3 s), whether
    # the catalogue has half stars (cached 5 min)
    with django_assert_max_num_queries(9):
        response = alice_client.get(reverse("movie_browse"), {"sort": "rating"})
    assert len(response.context["own"]) == min(n_movies, 24) // 2 + (min(n_movies, 24) % 2)


def test_movie_detail_shows_average_count_stars_and_similar(alice_client, alice, movies):
    movie = movies[3]
    RatingFactory(user=alice, movie=movie, score=4)
    response = alice_client.get(reverse("movie_detail", args=[movie.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert movie.title in body and f"{movie.average_rating:.2f}" in body and str(movie.rating_count) in body
    assert response.context["own_score"] == 4
    assert f'id="rate-{movie.pk}-4" checked' in body
    assert "Similar movies" in body
    assert movie.pk not in [i.movie.pk for i in response.context["similar"].items]


def test_movie_detail_anonymous_invites_to_log_in(client, movies):
    body = client.get(reverse("movie_detail", args=[1])).content.decode()
    assert "to rate this movie" in body and 'name="score"' not in body


def test_unknown_movie_is_a_404_in_the_site_style(client, db):
    response = client.get(reverse("movie_detail", args=[999]))
    assert response.status_code == 404
    assert "Page not found" in response.content.decode() and "skip-link" in response.content.decode()


def test_unknown_url_is_a_404_in_the_site_style(client, db):
    response = client.get("/no/such/page/")
    assert response.status_code == 404 and "Page not found" in response.content.decode()


def test_500_page_renders_without_context():
    html = render_to_string("500.html")
    assert "Something went wrong" in html and "{%" not in html


def test_my_ratings_newest_first_and_paginated(alice_client, alice, bob, movies):
    for i, movie in enumerate(movies):
        RatingFactory(user=alice, movie=movie, score=1 + i % 5, days_ago=i)
    RatingFactory(user=bob, movie=movies[0], score=2)
    response = alice_client.get(reverse("my_ratings"))
    ratings = list(response.context["page"].object_list)
    assert response.status_code == 200
    assert [r.movie.pk for r in ratings[:3]] == [1, 2, 3]
    assert all(r.user_id == alice.pk for r in ratings)
    assert response.context["page"].paginator.count == 30
    assert len(alice_client.get(reverse("my_ratings"), {"page": 2}).context["page"].object_list) == 5


def test_my_ratings_requires_login(client, db):
    assert client.get(reverse("my_ratings")).url.startswith(reverse("login"))


def test_profile_page_updates_demographics(alice_client, alice):
    assert alice_client.get(reverse("profile")).status_code == 200
    response = alice_client.post(reverse("profile"), {"gender": "M", "age": "45", "occupation": "17"})
    assert response.status_code == 302
    alice.profile.refresh_from_db()
    assert (alice.profile.gender, alice.profile.age, alice.profile.occupation) == ("M", 45, 17)
    response = alice_client.post(reverse("profile"), {"gender": "X", "age": "7"})
    assert response.status_code == 200 and response.context["form"].errors


def test_staff_see_admin_link_and_model_status(client, staff, movies):
    ModelVersion.objects.create(
        number=3, status="active", metrics={"model": {"ndcg@10": 0.2134, "recall@50": 0.3811}, "baselines": {}}
    )
    client.force_login(staff)
    body = client.get(reverse("movie_browse")).content.decode()
    assert reverse("admin:index") in body
    assert "v3" in body and "NDCG@10 0.213" in body and "Recall@50 0.381" in body


def test_non_staff_see_no_model_status(alice_client, movies):
    body = alice_client.get(reverse("movie_browse")).content.decode()
    assert reverse("admin:index") not in body and "NDCG" not in body


def test_movie_count_fixture_sanity(movies):
    assert Movie.objects.count() == 30

"""Admin: every movies model registered; changelists render with search and filters without N+1 queries."""

import pytest
from django.contrib import admin
from django.urls import reverse

from movies.models import Genre, Movie, Profile, Rating

from .factories import make_movies, make_user, rate

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_data(movies, alice, bob):
    for movie in movies[:6]:
        rate(alice, movie, 4)
        rate(bob, movie, 2)
    return movies


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


def test_every_movies_model_is_registered():
    for model in (Genre, Movie, Profile, Rating):
        assert admin.site.is_registered(model)


@pytest.mark.parametrize(
    "model, params, expected",
    [
        ("movie", {}, 30),
        ("movie", {"q": "Film 0"}, 12),  # "Film" and "0": 01-09, 10, 20, 30
        ("movie", {"q": "7"}, 3),  # title contains 7, or id 7
        ("movie", {"genres__id__exact": "GENRE"}, 12),
        ("movie", {"decade": "2000"}, 10),
        ("movie", {"year": "1990"}, 1),
        ("genre", {"q": "dra"}, 1),
        ("rating", {}, 12),
        ("rating", {"q": "alice"}, 6),
        ("rating", {"q": "42"}, 6),  # bob's MovieLens id
        ("rating", {"q": "Film 01"}, 2),
        ("rating", {"score": "4"}, 6),
        ("rating", {"user__profile__gender": "M"}, 6),
        ("rating", {"user__profile__age": "25"}, 6),
        ("rating", {"user__profile__occupation": "4"}, 6),
        ("rating", {"movie__id__exact": "1"}, 2),  # "a movie's ratings" link
        ("profile", {"q": "42"}, 1),
        ("profile", {"q": "alice"}, 1),
        ("profile", {"gender": "F", "age": "25", "occupation": "12"}, 1),
    ],
)
def test_changelists_search_and_filter(staff_client, admin_data, model, params, expected):
    if params.get("genres__id__exact") == "GENRE":
        params = {"genres__id__exact": str(Genre.objects.get(name="Drama").pk)}
    response = staff_client.get(reverse(f"admin:movies_{model}_changelist"), params)
    assert response.status_code == 200, response.content[:500]
    assert response.context["cl"].result_count == expected


@pytest.mark.parametrize("params", [{"q": "alice"}, {"q": "42"}, {"profile__gender": "M"}, {"profile__age": "25"}])
def test_user_changelist_searches_and_filters_by_profile(staff_client, alice, bob, params):
    response = staff_client.get(reverse("admin:auth_user_changelist"), params)
    assert response.status_code == 200
    assert response.context["cl"].result_count == 1


def test_movie_change_page_links_to_its_ratings(staff_client, admin_data):
    body = staff_client.get(reverse("admin:movies_movie_change", args=[1])).content.decode()
    assert "movie__id__exact=1" in body
    assert "alice — 4/5" in body and "bob — 2/5" in body


def test_user_change_page_has_the_profile_inline(staff_client, bob):
    body = staff_client.get(reverse("admin:auth_user_change", args=[bob.pk])).content.decode()
    assert 'name="profile-0-movielens_id"' in body and 'value="42"' in body


def test_rating_add_page_uses_autocomplete(staff_client, admin_data):
    body = staff_client.get(reverse("admin:movies_rating_add")).content.decode()
    assert "admin-autocomplete" in body


@pytest.mark.parametrize("model", ["movie", "rating", "profile", "genre"])
def test_changelist_queries_do_not_grow_with_rows(staff_client, django_assert_max_num_queries, model):
    movies = make_movies(40)
    for i in range(12):
        user = make_user(f"user{i}", movielens_id=100 + i, gender="F", age=18, occupation=i)
        for movie in movies[:5]:
            rate(user, movie, 3)
    with django_assert_max_num_queries(14):
        response = staff_client.get(reverse(f"admin:movies_{model}_changelist"))
    assert response.status_code == 200

"""The rating endpoint: set, change, remove by form post and by fetch/JSON; bad input never yields a 500."""

import pytest
from django.urls import reverse

from movies.models import Movie, Rating
from tests.factories import RatingFactory

pytestmark = pytest.mark.django_db
JSON = {"HTTP_ACCEPT": "application/json"}


def rate_url(movie_id: int) -> str:
    return reverse("movie_rate", args=[movie_id])


def score_of(user, movie_id):
    return Rating.objects.filter(user=user, movie_id=movie_id).values_list("score", flat=True).first()


def test_form_post_sets_changes_and_removes(alice_client, alice, movies):
    movie = movies[0]
    before = Movie.objects.get(pk=movie.pk).rating_count
    response = alice_client.post(rate_url(movie.pk), {"score": "4"})
    assert response.status_code == 302 and response.url == reverse("movie_detail", args=[movie.pk])
    assert score_of(alice, movie.pk) == 4 and Movie.objects.get(pk=movie.pk).rating_count == before + 1

    alice_client.post(rate_url(movie.pk), {"score": "2"})
    assert score_of(alice, movie.pk) == 2 and Movie.objects.get(pk=movie.pk).rating_count == before + 1

    response = alice_client.post(rate_url(movie.pk), {"remove": "1", "next": "/me/ratings/"}, follow=True)
    assert score_of(alice, movie.pk) is None and Movie.objects.get(pk=movie.pk).rating_count == before
    assert response.redirect_chain[-1][0] == "/me/ratings/"
    assert f"Removed your rating of {movie.title}" in response.content.decode()


def test_form_post_redirects_only_to_this_site(alice_client, movies):
    response = alice_client.post(rate_url(1), {"score": "5", "next": "https://evil.example/"})
    assert response.url == reverse("movie_detail", args=[1])


def test_json_sets_changes_and_removes_with_fresh_suggestions(alice_client, alice, movies):
    data = alice_client.post(rate_url(1), {"score": "5"}, **JSON).json()
    assert data["movie_id"] == 1 and data["score"] == 5 and data["user_rating_count"] == 1
    assert data["movie"]["rating_count"] == movies[0].rating_count + 1
    suggested = [item["movie_id"] for item in data["recommendations"]["items"]]
    assert suggested and 1 not in suggested, "the movie just rated is no longer suggested"
    assert data["recommendations"]["fallback"] is True
    assert 'class="grid"' in data["recommendations_html"] and "Film 01" not in data["recommendations_html"]

    data = alice_client.post(rate_url(1), {"score": "3"}, HTTP_X_REQUESTED_WITH="fetch").json()
    assert data["score"] == 3 and score_of(alice, 1) == 3

    data = alice_client.post(rate_url(1), {"remove": "1"}, **JSON).json()
    assert data["score"] is None and data["user_rating_count"] == 0 and score_of(alice, 1) is None
    assert 1 in [item["movie_id"] for item in data["recommendations"]["items"]]


def test_removing_a_rating_that_does_not_exist_is_harmless(alice_client, movies):
    data = alice_client.post(rate_url(2), {"remove": "1"}, **JSON).json()
    assert data["score"] is None and "had not rated" in data["message"]


@pytest.mark.parametrize(
    "movie_id, payload",
    [
        (1, {"score": "0"}),
        (1, {"score": "6"}),
        (1, {"score": "abc"}),
        (1, {"score": ""}),
        (1, {}),
        (1, {"score": "4.25"}),
        (1, {"score": "5.5"}),
        (999, {"score": "3"}),
        (999, {"remove": "1"}),
    ],
)
def test_bad_input_is_a_400_with_a_message(alice_client, alice, movies, movie_id, payload):
    response = alice_client.post(rate_url(movie_id), payload, **JSON)
    assert response.status_code == 400
    assert response.json()["message"]
    assert not Rating.objects.filter(user=alice).exists()


@pytest.mark.parametrize("payload", [{"score": "0"}, {"score": "abc"}, {"score": "3.25"}, {"score": "nan"}, {}])
def test_bad_form_post_redirects_back_with_a_message(alice_client, movies, payload):
    response = alice_client.post(rate_url(1), {**payload, "next": "/movies/1/"}, follow=True)
    assert response.status_code == 200 and response.redirect_chain[-1][0] == "/movies/1/"
    assert "Choose a rating from 0.5 to 5 stars (whole or half stars)." in response.content.decode()


def test_unknown_movie_form_post_shows_a_message(alice_client, movies):
    response = alice_client.post(rate_url(999), {"score": "3"}, follow=True)
    assert response.status_code == 200 and "Movie 999 does not exist." in response.content.decode()


def test_a_user_never_changes_another_users_rating(alice_client, alice, bob, movies):
    RatingFactory(user=bob, movie=movies[0], score=2)
    alice_client.post(rate_url(1), {"score": "5", "user": str(bob.pk), "user_id": str(bob.pk)}, **JSON)
    alice_client.post(rate_url(1), {"remove": "1", "user": str(bob.pk)}, **JSON)
    assert score_of(bob, 1) == 2
    assert score_of(alice, 1) is None
    assert Rating.objects.filter(user=bob).count() == 1


def test_anonymous_cannot_rate(client, movies):
    assert client.post(rate_url(1), {"score": "4"}, **JSON).status_code == 401
    response = client.post(rate_url(1), {"score": "4"})
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    assert not Rating.objects.exists()


def test_rate_needs_post(alice_client, movies):
    assert alice_client.get(rate_url(1)).status_code == 405


def test_rating_needs_the_csrf_token(alice, movies):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post(rate_url(1), {"score": "4"}).status_code == 403


def test_rating_from_a_browse_card_without_js_returns_to_the_filtered_page(alice_client, alice, movies):
    browse = reverse("movie_browse") + "?genre=Drama&sort=year"
    page = alice_client.get(browse).content.decode()
    assert f'<input type="hidden" name="next" value="{browse.replace("&", "&amp;")}">' in page
    movie_id = 30  # Drama are the ids i with i % 5 in (0, 2); 30 is the newest
    assert f'data-movie-id="{movie_id}"' in page

    response = alice_client.post(rate_url(movie_id), {"score": "4", "next": browse}, follow=True)
    assert response.redirect_chain == [(browse, 302)]
    assert score_of(alice, movie_id) == 4
    body = response.content.decode()
    assert "You rated Film 30 4 out of 5." in body
    assert f'id="rate-{movie_id}-4" checked' in body


def test_rating_from_browse_with_hide_rated_removes_the_card(alice_client, alice, movies):
    browse = reverse("movie_browse") + "?hide_rated=on"
    assert 1 in [m.pk for m in alice_client.get(browse).context["page"].object_list]
    response = alice_client.post(rate_url(1), {"score": "5", "next": browse}, follow=True)
    assert score_of(alice, 1) == 5
    assert 1 not in [m.pk for m in response.context["page"].object_list]


def test_rating_from_a_browse_card_by_fetch(alice_client, alice, movies):
    data = alice_client.post(rate_url(3), {"score": "2", "next": reverse("movie_browse")}, **JSON).json()
    assert data["score"] == 2 and data["message"] == "You rated Film 03 2 out of 5."
    assert score_of(alice, 3) == 2


def test_half_stars_by_form_post_are_kept_and_shown(alice_client, alice, movies):
    data = alice_client.post(rate_url(1), {"score": "3.5"}, **JSON).json()
    assert data["score"] == 3.5 and score_of(alice, 1) == 3.5
    assert "You rated Film 01 3.5 out of 5." in data["message"]
    page = alice_client.get(reverse("movie_detail", args=[1])).content.decode()
    assert 'value="3.5" id="rate-1-3_5" checked' in page, "the catalogue now has half stars: the widget offers them"
    assert "You: 3.5/5" in page


def test_the_star_widget_offers_halves_only_when_the_catalogue_has_them(alice_client, alice, movies):
    from django.core.cache import cache

    cache.clear()
    page = alice_client.get(reverse("movie_detail", args=[2])).content.decode()
    assert 'value="4" id="rate-2-4"' in page and 'value="4.5"' not in page and "stars-half" not in page
    RatingFactory(movie=movies[3], score=2.5)  # a half star arrives, e.g. by an import of a CSV release
    cache.clear()
    page = alice_client.get(reverse("movie_detail", args=[2])).content.decode()
    assert 'value="4.5" id="rate-2-4_5"' in page and 'value="0.5"' in page and "stars-half" in page

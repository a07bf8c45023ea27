"""The "Not interested" button on the site without a model (popularity fallback): form posts, fetch/JSON, the
hidden list, and the undo of a rating from the toast."""

import pytest
from django.urls import reverse

from movies.models import HiddenMovie, Movie, Rating
from movies.services import movie_hide
from tests.factories import RatingFactory, UserFactory

pytestmark = pytest.mark.django_db
JSON = {"HTTP_ACCEPT": "application/json"}


def hide_url(movie_id: int) -> str:
    return reverse("movie_hide", args=[movie_id])


def unhide_url(movie_id: int) -> str:
    return reverse("movie_unhide", args=[movie_id])


def hidden_ids(user) -> set[int]:
    return set(HiddenMovie.objects.filter(user=user).values_list("movie_id", flat=True))


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_form_post_hides_redirects_back_and_says_so(alice_client, alice, movies):
    response = alice_client.post(hide_url(3), {"next": "/movies/?genre=Drama"}, follow=True)
    assert response.redirect_chain == [("/movies/?genre=Drama", 302)]
    assert hidden_ids(alice) == {3}
    assert messages_of(response) == [
        "Film 03 won't be suggested to you again. Changed your mind? It is listed under My ratings → Hidden movies."
    ]
    assert 3 not in [m.pk for m in response.context["page"].object_list]  # browse leaves it out

    response = alice_client.post(unhide_url(3), follow=True)  # no next: the movie's page
    assert response.redirect_chain == [(reverse("movie_detail", args=[3]), 302)]
    assert hidden_ids(alice) == set()
    assert messages_of(response) == ["Film 03 can be suggested to you again."]


def test_hiding_twice_is_harmless_and_next_must_be_this_site(alice_client, alice, movies):
    alice_client.post(hide_url(5))
    response = alice_client.post(hide_url(5), {"next": "https://evil.example/"})
    assert response.status_code == 302 and response.url == reverse("movie_detail", args=[5])
    assert HiddenMovie.objects.filter(user=alice).count() == 1


def test_json_hide_refreshes_the_suggestions_and_offers_the_undo(alice_client, alice, movies):
    RatingFactory(user=alice, movie=movies[0], score=5)
    before = alice_client.get("/").context["for_you"]
    first = before.items[0].movie.pk
    data = alice_client.post(hide_url(first), **JSON).json()
    assert data["movie_id"] == first and data["hidden"] is True
    assert data["undo_url"] == unhide_url(first)
    assert data["message"] == f"Film {first:02d} won't be suggested to you again."
    suggested = [item["movie_id"] for item in data["recommendations"]["items"]]
    assert suggested and first not in suggested and 1 not in suggested
    assert f"Film {first:02d}" not in data["recommendations_html"]

    undone = alice_client.post(data["undo_url"], HTTP_X_REQUESTED_WITH="fetch").json()
    assert undone["hidden"] is False and undone["undo_url"] == hide_url(first)
    assert first in [item["movie_id"] for item in undone["recommendations"]["items"]]
    assert hidden_ids(alice) == set()


def test_hidden_movies_leave_home_onboarding_similar_and_browse_but_a_search_finds_them(alice_client, alice, movies):
    RatingFactory(user=alice, movie=movies[9], score=4)
    for movie_id in (1, 2, 3):
        movie_hide(user=alice, movie_id=movie_id)
    home = alice_client.get("/")
    shown = [item.movie.pk for item in home.context["for_you"].items]
    shown += [item.movie.pk for _, row in home.context["genre_rows"] for item in row.items]
    assert shown and not {1, 2, 3} & set(shown)

    welcome = alice_client.get(reverse("onboarding"))
    in_sections = [m.pk for _, section in welcome.context["sections"] for m in section]
    assert in_sections and not {1, 2, 3} & set(in_sections)

    similar = alice_client.get(reverse("movie_detail", args=[4])).context["similar"]
    assert similar.fallback is True and similar.items
    assert not {1, 2, 3, 4} & {item.movie.pk for item in similar.items}
    # what others see is unchanged: the most popular movies lead
    assert [item.movie.pk for item in popular_similar(4)][:3] == [1, 2, 3]

    browse = alice_client.get(reverse("movie_browse"))
    assert not {1, 2, 3} & {m.pk for m in browse.context["page"].object_list}
    searched = alice_client.get(reverse("movie_browse"), {"q": "film 02"})
    assert [(m.pk, m.is_hidden) for m in searched.context["page"].object_list] == [(2, True)]
    body = searched.content.decode()
    assert "Hidden from your suggestions." in body and "Show again" in body
    found = alice_client.get(reverse("onboarding"), {"q": "film 03"}).context["results"]
    assert [(m.pk, m.is_hidden) for m in found] == [(3, True)]


def popular_similar(movie_id: int):
    from recommender.services.recommendations import similar_movies

    return similar_movies(movie_id=movie_id, k=8).items


def test_cards_and_the_detail_page_carry_the_buttons(alice_client, alice, movies):
    movie_hide(user=alice, movie_id=7)
    body = alice_client.get(reverse("movie_browse")).content.decode()
    assert body.count('data-hide-form="hide"') == 24 and f'action="{hide_url(8)}"' in body
    assert 'Not interested<span class="visually-hidden"> in Film 08</span>' in body
    detail = alice_client.get(reverse("movie_detail", args=[7]))
    assert detail.context["movie"].is_hidden is True
    page = detail.content.decode()
    # hidden: "Show again" is the control shown, "Not interested" waits (hidden) for the script to switch them
    assert f'action="{unhide_url(7)}" class="hide-form" data-hide-form="unhide" data-movie-id="7">' in page
    assert f'action="{hide_url(7)}" class="hide-form" data-hide-form="hide" data-movie-id="7" hidden>' in page


def test_anonymous_callers_are_sent_to_log_in(client, movies):
    response = client.post(hide_url(1), **JSON)
    assert response.status_code == 401 and response.json()["login_url"] == reverse("login")
    response = client.post(hide_url(1))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    assert not HiddenMovie.objects.exists()
    assert "Not interested" not in client.get(reverse("movie_browse")).content.decode()


def test_unknown_movie_and_get_are_refused(alice_client, movies):
    response = alice_client.post(hide_url(999), **JSON)
    assert response.status_code == 400 and response.json()["message"] == "Movie 999 does not exist."
    response = alice_client.post(hide_url(999), follow=True)
    assert messages_of(response) == ["Movie 999 does not exist."]
    assert alice_client.get(hide_url(1)).status_code == 405
    assert not HiddenMovie.objects.exists()


def test_hidden_list_shows_my_hidden_movies_and_unhides(alice_client, alice, bob, movies):
    for movie_id in (4, 6):
        movie_hide(user=alice, movie_id=movie_id)
    movie_hide(user=bob, movie_id=9)
    response = alice_client.get(reverse("hidden_movies"))
    assert [h.movie_id for h in response.context["page"].object_list] == [6, 4]
    body = response.content.decode()
    assert "Film 06" in body and "Film 09" not in body and f'action="{unhide_url(4)}"' in body
    response = alice_client.post(unhide_url(6), {"next": reverse("hidden_movies")}, follow=True)
    assert [h.movie_id for h in response.context["page"].object_list] == [4]
    assert messages_of(response) == ["Film 06 can be suggested to you again."]
    assert reverse("hidden_movies") in alice_client.get(reverse("my_ratings")).content.decode()


def test_the_hidden_list_needs_a_login(client, db):
    response = client.get(reverse("hidden_movies"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


# --- undo of a rating, from the toast ---------------------------------------------------------------------


def rate_json(client, movie_id: int, **data) -> dict:
    response = client.post(reverse("movie_rate", args=[movie_id]), data, **JSON)
    assert response.status_code == 200, response.content
    return response.json()


def undo(client, undo: dict, **extra):
    return client.post(undo["url"], {"token": undo["token"]}, **{**JSON, **extra})


def counters(movie_id: int) -> tuple[int, int]:
    movie = Movie.objects.get(pk=movie_id)
    return movie.rating_count, movie.rating_total


def test_undo_of_a_first_rating_removes_it(alice_client, alice, movies):
    start = counters(1)
    data = rate_json(alice_client, 1, score=4)
    assert data["undo"]["url"] == reverse("movie_rate_undo", args=[1])
    response = undo(alice_client, data["undo"])
    undone = response.json()
    assert response.status_code == 200 and undone["score"] is None and undone["undo"] is None
    assert undone["message"] == "Undone: Film 01 is not rated any more."
    assert not Rating.objects.filter(user=alice).exists() and counters(1) == start
    assert undone["movie"]["rating_count"] == start[0] and undone["user_rating_count"] == 0


def test_undo_of_a_change_restores_the_previous_score_time_and_counters(alice_client, alice, movies):
    old = RatingFactory(user=alice, movie=movies[1], score=2, days_ago=3)
    Movie.objects.filter(pk=2).update(rating_count=1, rating_total=2)
    data = rate_json(alice_client, 2, score=5)
    assert counters(2) == (1, 5)
    undone = undo(alice_client, data["undo"]).json()
    assert undone["score"] == 2 and undone["message"] == "Undone: your rating of Film 02 is back to 2 out of 5."
    restored = Rating.objects.get(user=alice, movie_id=2)
    assert (restored.score, restored.rated_at) == (2, old.rated_at) and counters(2) == (1, 2)


def test_undo_of_a_removal_brings_the_rating_back(alice_client, alice, movies):
    RatingFactory(user=alice, movie=movies[2], score=3)
    Movie.objects.filter(pk=3).update(rating_count=1, rating_total=3)
    data = rate_json(alice_client, 3, remove="1")
    assert counters(3) == (0, 0)
    undone = undo(alice_client, data["undo"]).json()
    assert undone["score"] == 3 and Rating.objects.get(user=alice, movie_id=3).score == 3 and counters(3) == (1, 3)
    assert rate_json(alice_client, 4, remove="1")["undo"] is None  # nothing removed: nothing to undo


def test_undo_after_a_later_change_changes_nothing(alice_client, alice, movies):
    first = rate_json(alice_client, 1, score=4)
    rate_json(alice_client, 1, score=1)
    undone = undo(alice_client, first["undo"]).json()
    assert undone["score"] == 1 and "has changed since" in undone["message"]
    assert Rating.objects.get(user=alice, movie_id=1).score == 1


def test_an_undo_token_works_only_for_its_user_and_movie(alice_client, client, alice, movies):
    data = rate_json(alice_client, 1, score=4)
    forged = {"url": reverse("movie_rate_undo", args=[2]), "token": data["undo"]["token"]}
    assert undo(alice_client, forged).status_code == 400
    tampered = {**data["undo"], "token": data["undo"]["token"][:-2] + "xx"}
    response = undo(alice_client, tampered)
    assert response.status_code == 400 and response.json()["message"] == "This undo is no longer available."
    client.force_login(UserFactory(username="mallory"))
    assert undo(client, data["undo"]).status_code == 400
    assert Rating.objects.get(user=alice, movie_id=1).score == 4


def test_undo_by_form_post_redirects_with_a_message(alice_client, alice, movies):
    data = rate_json(alice_client, 5, score=3)
    response = alice_client.post(data["undo"]["url"], {"token": data["undo"]["token"], "next": "/"}, follow=True)
    assert response.redirect_chain[0] == ("/", 302)
    assert "Undone: Film 05 is not rated any more." in messages_of(response)
    assert not Rating.objects.filter(user=alice).exists()


def test_forms_in_a_refreshed_fragment_send_a_plain_post_back_to_the_page(alice_client, alice, movies):
    """The "for you" fragment of a fetch() answer is rendered by a POST: its forms' next is the page, not that
    POST's URL (which a redirect would turn into a GET, a 405), should the script fall back to a form post."""
    RatingFactory(user=alice, movie=movies[0], score=5)
    data = alice_client.post(hide_url(2), HTTP_ACCEPT="application/json", HTTP_REFERER="http://testserver/").json()
    html = data["recommendations_html"]
    assert 'name="next" value="http://testserver/"' in html and f'name="next" value="{hide_url(2)}"' not in html
    assert 'name="next" value="/"' in alice_client.get("/").content.decode()  # a page rendered by GET: its path

"""Movie cards and their forms (web/cards.py, Jinja2): what a page shows of a movie, escaped, with unique ids."""

import re

import pytest

from movies.services import movie_hide, rating_upsert
from tests.factories import MovieFactory

pytestmark = pytest.mark.django_db


def test_a_title_with_markup_is_shown_as_text_everywhere_on_the_card(alice_client, alice):
    MovieFactory(id=7, title='<b onclick="x()">Bold</b> & "Co" (1999)', genres=["Drama"])
    rating_upsert(user=alice, movie_id=7, score=4)
    body = alice_client.get("/movies/?q=bold").content.decode()
    assert "<b onclick" not in body
    assert "&lt;b onclick=&#34;x()&#34;&gt;Bold&lt;/b&gt; &amp; &#34;Co&#34;" in body  # title, legend, hide buttons
    assert 'id="rate-7-4" checked' in body and "You: 4/5" in body


def test_forms_return_to_the_page_they_are_on_with_its_query_escaped(alice_client, movies):
    body = alice_client.get("/movies/?genre=Drama&sort=year").content.decode()
    assert body.count('name="next" value="/movies/?genre=Drama&amp;sort=year"') == 3 * body.count("data-card ")
    assert body.count('name="csrfmiddlewaretoken"') >= 3 * body.count("data-card ") > 0


def test_each_card_links_the_movie_its_forms_and_shows_its_average(alice_client, movies):
    movie = movies[0]
    body = alice_client.get(f"/movies/{movies[1].pk}/").content.decode()
    # a recommended movie's link carries the impression that showed it (attribution of the click)
    link = re.search(rf'<a href="/movies/{movie.pk}/(\?imp=[0-9a-f-]{{36}})?">([^<]*)</a>', body)
    assert link is not None and link.group(2) == movie.display_title, body
    assert f'action="/movies/{movies[1].pk}/rate/"' in body and f'action="/movies/{movies[1].pk}/hide/"' in body
    average = f"{movie.rating_total / movie.rating_count:.1f}"
    assert f'aria-label="Average {average} out of 5">{average}★</span>' in body


def test_a_hidden_movie_found_by_search_shows_its_show_again_form(alice_client, alice, movies):
    movie_hide(user=alice, movie_id=movies[2].pk)
    body = alice_client.get("/movies/", {"q": movies[2].title}).content.decode()
    card = body[body.index(f'data-movie-id="{movies[2].pk}"') :]
    card = card[: card.index("</article>")]
    assert 'data-hide-form="hide" data-movie-id' in card and "hidden>" in card  # "Not interested" hidden
    assert f'data-hide-form="unhide" data-movie-id="{movies[2].pk}">' in card  # "Show again" shown

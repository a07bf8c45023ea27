"""Using the site as a person would, in a real browser: search by a title as people say it, "Not interested" on a
card and Undo from the toast, rating from a browse card (and undoing a change). Screenshots at 1280 and 390 px."""

import re

import pytest
from django.core.cache import cache

from movies.models import HiddenMovie, Movie, Rating
from tests.factories import RatingFactory, UserFactory, movies_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "a-long-Passphrase-9"
WIDTHS = {"wide": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.fixture
def catalogue(transactional_db):
    cache.clear()
    movies = movies_create(30)
    # titles as MovieLens stores them: the article moved to the end, the year in brackets
    for movie_id, title, year in [(901, "Godfather, The (1972)", 1972), (902, "Godfather: Part II, The (1974)", 1974)]:
        movies.append(Movie.objects.create(id=movie_id, title=title, year=year, rating_count=3000, rating_total=13000))
    return movies


@pytest.fixture
def viewer(catalogue):
    """A user who rated one movie (so the home page shows suggestions, not onboarding)."""
    user = UserFactory(username="viewer")
    user.set_password(PASSWORD)
    user.save()
    RatingFactory(user=user, movie=catalogue[-1], score=5)
    return user


def log_in(page, live_server) -> None:
    page.goto(live_server.url + "/accounts/login/")
    page.get_by_label("Username").fill("viewer")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Recommended for you").wait_for()


def shot(page, folder, name: str) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def shots_at_both_widths(page, folder, name: str) -> None:
    for size in WIDTHS.values():
        page.set_viewport_size(size)
        shot(page, folder, f"{name}-{size['width']}")
    page.set_viewport_size(WIDTHS["wide"])


def test_search_finds_a_title_as_people_say_it(page, live_server, catalogue, viewer, screenshot_dir):
    from playwright.sync_api import expect

    log_in(page, live_server)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Browse").click()
    page.get_by_label("Title").fill("the godfather")
    page.get_by_label("Title").press("Enter")
    expect(page.locator("[data-card] .card-title")).to_have_text(["The Godfather", "The Godfather: Part II"])
    expect(page.locator(".result-count")).to_have_text("2 movies")
    assert "q=the+godfather" in page.url
    shots_at_both_widths(page, screenshot_dir, "20-search-the-godfather")

    page.get_by_label("Title").fill("GODFATHER  part")  # any case and spacing; the words, not the punctuation
    page.get_by_label("Title").press("Enter")
    expect(page.locator("[data-card] .card-title")).to_have_text(["The Godfather: Part II"])


@pytest.mark.parametrize("size", list(WIDTHS))
def test_not_interested_then_undo_from_the_toast(browser, live_server, catalogue, viewer, screenshot_dir, size):
    from playwright.sync_api import expect

    context = browser.new_context(viewport=WIDTHS[size])
    context.set_default_timeout(10_000)
    page = context.new_page()
    log_in(page, live_server)
    width = WIDTHS[size]["width"]
    first = page.locator("[data-recs] [data-card]").first
    movie_id = int(first.get_attribute("data-movie-id"))
    title = first.locator(".card-title").inner_text()
    card = page.locator(f'[data-recs] [data-card][data-movie-id="{movie_id}"]')
    toast = page.locator("[data-live-status]")

    first.get_by_role("button", name=f"Not interested in {title}").click()
    expect(card).to_have_count(0)  # the list was refreshed without it
    expect(toast).to_contain_text(f"{title} won't be suggested to you again.")
    undo = toast.get_by_role("button", name="Undo")
    expect(undo).to_be_focused()  # the pressed button went with its card: focus waits on the Undo
    assert HiddenMovie.objects.filter(user=viewer, movie_id=movie_id).exists()
    assert page.url == live_server.url + "/", "no page reload"
    shot(page, screenshot_dir, f"21-not-interested-toast-{width}")

    undo.click()
    expect(card).to_have_count(1)
    expect(toast).to_contain_text(f"{title} can be suggested to you again.")
    expect(card.get_by_role("button", name=f"Not interested in {title}")).to_be_focused()
    assert not HiddenMovie.objects.filter(user=viewer).exists()
    shot(page, screenshot_dir, f"22-after-undo-{width}")

    # Hidden for good this time: gone from browse after a reload, found (marked) by a search for it.
    card.get_by_role("button", name=f"Not interested in {title}").click()
    expect(card).to_have_count(0)
    page.goto(live_server.url + "/movies/")
    expect(page.locator(f'[data-card][data-movie-id="{movie_id}"]')).to_have_count(0)
    page.goto(live_server.url + f"/movies/?q={title.replace(' ', '+')}")
    found = page.locator(f'[data-card][data-movie-id="{movie_id}"]')
    expect(found.get_by_text("Hidden from your suggestions.")).to_be_visible()
    shot(page, screenshot_dir, f"23-hidden-movie-found-by-search-{width}")

    # Nothing is lost: My ratings -> Hidden movies lists it; "Show again" on its page brings it back.
    page.goto(live_server.url + "/me/ratings/")
    page.get_by_role("link", name="Hidden movies").click()
    expect(page.locator("[data-hidden-row] .rating-title")).to_have_text([title])
    shot(page, screenshot_dir, f"24-hidden-movies-page-{width}")
    page.get_by_role("link", name=title).click()
    expect(page.get_by_role("heading", name=title, exact=True)).to_be_visible()
    page.get_by_role("button", name=f"Show again ({title})").click()
    expect(toast).to_contain_text(f"{title} can be suggested to you again.")
    expect(page.get_by_role("button", name=f"Not interested in {title}")).to_be_visible()
    assert not HiddenMovie.objects.filter(user=viewer).exists()
    shot(page, screenshot_dir, f"25-detail-shown-again-{width}")
    context.close()


def test_rating_from_a_browse_card_and_undoing_a_change(page, live_server, catalogue, viewer, screenshot_dir):
    from playwright.sync_api import expect

    log_in(page, live_server)
    page.goto(live_server.url + "/movies/?genre=Drama")
    card = page.locator('[data-card][data-movie-id="5"]')
    toast = page.locator("[data-live-status]")
    before = Movie.objects.get(pk=5)
    card.locator(".stars label").nth(3).click()  # four stars
    expect(toast).to_contain_text("You rated Film 05 4 out of 5.")
    expect(card.locator("[data-rate-current]")).to_have_text("You: 4/5")
    assert Rating.objects.get(user=viewer, movie_id=5).score == 4
    shots_at_both_widths(page, screenshot_dir, "26-rated-from-browse")

    card.locator(".stars label").nth(1).click()  # changed to two stars
    expect(toast).to_contain_text("You rated Film 05 2 out of 5.")
    assert Rating.objects.get(user=viewer, movie_id=5).score == 2
    toast.get_by_role("button", name="Undo").click()
    expect(toast).to_contain_text("Undone: your rating of Film 05 is back to 4 out of 5.")
    expect(card.locator("[data-rate-current]")).to_have_text("You: 4/5")
    expect(card.locator('input[name="score"][value="4"]')).to_be_checked()
    assert Rating.objects.get(user=viewer, movie_id=5).score == 4
    movie = Movie.objects.get(pk=5)
    assert (movie.rating_count, movie.rating_total) == (before.rating_count + 1, before.rating_total + 4)
    shot(page, screenshot_dir, "27-rating-undone-1280")
    assert re.search(r"/movies/\?genre=Drama$", page.url), "no page reload"

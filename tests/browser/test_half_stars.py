"""Half stars in a real browser, on a catalogue rated in halves (the CSV MovieLens releases): the star widget shows
ten halves, a click on the left half of the fourth star saves 3.5, and the page says so. Screenshots at 1280 and
390 px."""

import pytest
from django.core.cache import cache

from movies.models import Rating
from tests.factories import RatingFactory, UserFactory, movies_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "a-long-Passphrase-9"


@pytest.fixture
def viewer(transactional_db):
    cache.clear()
    movies = movies_create(12)
    user = UserFactory(username="viewer")
    user.set_password(PASSWORD)
    user.save()
    RatingFactory(user=user, movie=movies[-1], score=4.5)  # the catalogue has half stars
    return user, movies


def test_a_half_star_is_picked_saved_and_shown(page, live_server, viewer, screenshot_dir):
    from playwright.sync_api import expect

    user, movies = viewer
    page.goto(live_server.url + "/accounts/login/")
    page.get_by_label("Username").fill("viewer")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/movies/{movies[0].pk}/")
    form = page.locator("[data-rate-form]").first
    labels = form.locator(".stars-half label")
    expect(labels).to_have_count(10)
    box = labels.nth(6).bounding_box()  # 3.5: the left half of the fourth star
    assert box and box["width"] > 5, "each half is a visible, clickable target"
    labels.nth(6).click()
    expect(form.locator("[data-rate-current]")).to_have_text("You: 3.5/5")
    expect(page.locator("body")).to_contain_text("You rated")
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 844})
        page.screenshot(path=str(screenshot_dir / f"half-stars-{width}.png"))
    assert Rating.objects.get(user=user, movie=movies[0]).score == 3.5

"""A newcomer's journey in a real browser: popular movies, sign up, onboarding, ratings, suggestions, log out."""

import pytest
from django.core.cache import cache

from tests.factories import RatingFactory, UserFactory, movies_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "a-long-Passphrase-9"


@pytest.fixture
def catalogue(transactional_db):
    cache.clear()
    return movies_create(48)


def shot(page, folder, name: str) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def suggested_ids(page) -> list[int]:
    ids = page.locator("[data-recs] [data-rate-form]").evaluate_all("els => els.map(e => Number(e.dataset.movieId))")
    assert ids, "suggestions are shown"
    return ids


def rate_card(form, stars: int) -> None:
    """Click the n-th star label of a card's rating form (JS saves it without a reload)."""
    form.locator(".stars label").nth(stars - 1).click()


def test_newcomer_signs_up_rates_and_gets_suggestions(page, live_server, catalogue, screenshot_dir):
    from playwright.sync_api import expect

    page.goto(live_server.url + "/")
    expect(page.get_by_role("heading", name="Popular movies")).to_be_visible()
    expect(page.locator(".card")).to_have_count(12)
    shot(page, screenshot_dir, "01-home-anonymous")

    page.get_by_role("link", name="Sign up", exact=True).first.click()
    page.get_by_label("Username").fill("newbie")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password confirmation").fill(PASSWORD)
    shot(page, screenshot_dir, "02-signup")
    page.get_by_role("button", name="Sign up").click()
    expect(page).to_have_url(live_server.url + "/welcome/")
    shot(page, screenshot_dir, "03-onboarding")

    forms = page.locator("[data-onboarding-genre] [data-rate-form]")
    url_before = page.url
    for i in range(5):
        rate_card(forms.nth(i), 5 - i % 3)
        expect(page.locator("[data-rating-count]")).to_have_text(str(i + 1))
    assert page.url == url_before, "rated without a page reload"
    expect(page.get_by_role("link", name="See your suggestions →")).to_be_visible()
    expect(page.get_by_role("heading", name="Your suggestions so far")).to_be_visible()
    shot(page, screenshot_dir, "04-onboarding-done")

    page.get_by_role("link", name="See your suggestions →").click()
    expect(page.get_by_role("heading", name="Recommended for you")).to_be_visible()
    before = suggested_ids(page)
    shot(page, screenshot_dir, "05-home-suggestions")

    # One more rating, on the first suggestion: the list is refreshed in place and no longer holds it.
    first = page.locator("[data-recs] [data-rate-form]").first
    rated_id = int(first.get_attribute("data-movie-id"))
    rate_card(first, 4)
    expect(page.locator("[data-live-status]")).to_contain_text("out of 5")
    expect(page.locator(f'[data-recs] [data-rate-form][data-movie-id="{rated_id}"]')).to_have_count(0)
    after = suggested_ids(page)
    assert after != before and rated_id not in after
    page.reload()
    assert rated_id not in suggested_ids(page)
    shot(page, screenshot_dir, "06-home-after-rating")

    page.get_by_role("link", name="My ratings").click()
    expect(page.locator(".rating-row")).to_have_count(6)
    shot(page, screenshot_dir, "07-my-ratings")

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Popular movies")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Log in")).to_be_visible()


def test_browse_detail_and_rating_without_javascript(browser, live_server, catalogue, screenshot_dir):
    from playwright.sync_api import expect

    user = UserFactory(username="dave")
    user.set_password(PASSWORD)
    user.save()
    RatingFactory(user=user, movie=catalogue[0], score=3)
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(live_server.url + "/accounts/login/")
    page.get_by_label("Username").fill("dave")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    page.goto(live_server.url + "/movies/?genre=Drama&sort=year")
    expect(page.locator(".card")).to_have_count(19)
    shot(page, screenshot_dir, "08-browse")
    page.get_by_role("link", name="Film 02").click()
    expect(page.get_by_role("heading", name="Film 02", exact=True)).to_be_visible()
    page.locator('label[for="rate-2-4"]').click()
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".message-success")).to_contain_text("You rated Film 02 4 out of 5.")
    expect(page.locator("[data-rate-current]")).to_have_text("You: 4/5")
    shot(page, screenshot_dir, "09-detail-rated-no-js")
    page.get_by_role("button", name="Remove").click()
    expect(page.locator("[data-rate-current]")).to_have_text("Not rated")
    context.close()


def test_small_screen_and_keyboard(browser, live_server, catalogue, screenshot_dir):
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(live_server.url + "/")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    shot(page, screenshot_dir, "10-mobile-home-skip-link")
    page.goto(live_server.url + "/no/such/page/")
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    shot(page, screenshot_dir, "11-404")
    context.close()

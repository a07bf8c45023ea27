"""The newcomer's journey with a real (tiny) trained model: personal suggestions with reasons; a rated card leaves
the list at once. (That a rating changes the next answer is tested in tests/live_model: service and API.)"""

import pytest

from tests.tiny import tiny_model_serving

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow(reason="trains and serves a tiny model, then drives Chromium"),
    pytest.mark.django_db(transaction=True),
]
PASSWORD = "a-long-Passphrase-9"


@pytest.fixture
def model_serving(browser, transactional_db):
    """A tiny catalogue and an active model (after `browser`, which allows the ORM next to Playwright's loop)."""
    with tiny_model_serving() as version:
        yield version


def suggested_ids(page) -> list[int]:
    return page.locator("[data-recs] [data-rate-form]").evaluate_all("els => els.map(e => Number(e.dataset.movieId))")


def test_personal_suggestions_appear_and_a_rated_one_leaves_the_list(page, live_server, model_serving, screenshot_dir):
    from playwright.sync_api import expect

    page.goto(live_server.url + "/accounts/signup/")
    page.get_by_label("Username").fill("cinephile")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password confirmation").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page).to_have_url(live_server.url + "/welcome/")
    forms = page.locator("[data-onboarding-genre] [data-rate-form]")
    for i in range(5):
        forms.nth(i).locator(".stars label").nth(4).click()  # five stars
        expect(page.locator("[data-rating-count]")).to_have_text(str(i + 1))

    page.get_by_role("link", name="See your suggestions →").click()
    expect(page.get_by_role("heading", name="Recommended for you")).to_be_visible()
    expect(page.get_by_text("Popular picks for now")).to_have_count(0)  # not the popularity fallback
    expect(page.get_by_text("Because you rated").first).to_be_visible()
    before = suggested_ids(page)
    assert len(before) >= 5
    page.screenshot(path=str(screenshot_dir / "12-home-personal-suggestions.png"), full_page=True)

    first = page.locator("[data-recs] [data-rate-form]").first
    rated_id = int(first.get_attribute("data-movie-id"))
    first.locator(".stars label").nth(0).click()  # one star
    expect(page.locator(f'[data-recs] [data-rate-form][data-movie-id="{rated_id}"]')).to_have_count(0)
    page.screenshot(path=str(screenshot_dir / "13-home-after-one-star.png"), full_page=True)

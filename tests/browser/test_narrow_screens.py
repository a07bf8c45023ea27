"""Issue #27 at 1280 px and 390 px: the site and the model-version admin never scroll sideways, the version list
fits its box on a phone, the home page shows one notice while the first model trains, the search placeholder is
not cut, and Activate asks before it changes what every user sees."""

import pytest

from recommender.models import ModelVersion
from tests.factories import ModelVersionFactory, RatingFactory, movies_create

Status = ModelVersion.Status

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
WIDTHS = (1280, 390)
NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"
PLACEHOLDER_FITS = """el => {
  const style = getComputedStyle(el);
  const ctx = document.createElement("canvas").getContext("2d");
  ctx.font = style.font;
  const room = el.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  return ctx.measureText(el.placeholder).width <= room;
}"""


@pytest.fixture
def boss(superuser):
    for movie in movies_create(48)[:3]:
        RatingFactory(user=superuser, movie=movie, score=4)  # so that the home page shows "Recommended for you"
    return superuser


def visit(page, url: str, shot) -> None:
    page.goto(url)
    page.wait_for_function("[...document.images].every(img => img.complete)")
    page.screenshot(path=str(shot), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert page.evaluate(NO_SIDEWAYS_SCROLL), f"{url} scrolls sideways: {width} px wide"


@pytest.mark.parametrize("width", WIDTHS)
def test_site_and_admin_while_the_first_model_trains(live_server, boss, staff_page, screenshot_dir, width):
    """The first model trains behind six finished versions (none live): the admin's busiest list."""
    for number in range(1, 7):
        ModelVersionFactory(number=number, quality=1 + number / 10)
    progress = {"stage": "refitting", "epoch": 12, "epochs": 30}  # the longest status the list shows
    ModelVersionFactory(number=7, status=Status.TRAINING, metrics={}, finished_at=None, progress=progress)
    page = staff_page(width)
    from playwright.sync_api import expect

    visit(page, live_server.url + "/", screenshot_dir / f"narrow-home-training-{width}.png")
    expect(page.get_by_role("heading", name="Recommended for you")).to_be_visible()
    expect(page.locator(".notice-training")).to_be_visible()
    expect(page.locator(".banner")).to_have_count(0)  # one notice, not the training one and "popular picks"
    page.locator("[data-recs] [data-rate-form]").first.locator(".stars label").nth(3).click()
    expect(page.locator("[data-live-status]")).to_contain_text("out of 5")  # the list is refreshed in place...
    expect(page.locator("[data-recs] .banner-fallback")).to_have_count(1)  # ...its fragment carries the banner,
    expect(page.locator("[data-recs] .banner-fallback")).to_be_hidden()  # which the training notice hides

    visit(page, live_server.url + "/welcome/", screenshot_dir / f"narrow-onboarding-{width}.png")
    assert page.locator("#id_q").evaluate(PLACEHOLDER_FITS), "the search placeholder is cut"
    visit(page, live_server.url + "/movies/", screenshot_dir / f"narrow-browse-{width}.png")

    visit(page, live_server.url + "/admin/recommender/modelversion/", screenshot_dir / f"narrow-admin-list-{width}.png")
    table, box = page.locator("#result_list").bounding_box(), page.locator("#changelist .results").bounding_box()
    assert table["x"] + table["width"] <= box["x"] + box["width"] + 1  # every column in view, no inner scroll
    expect(page.locator("#result_list tbody tr")).to_have_count(7)
    version = ModelVersion.objects.get(number=6)
    url = f"{live_server.url}/admin/recommender/modelversion/{version.pk}/activate/"
    visit(page, url, screenshot_dir / f"narrow-admin-activate-{width}.png")
    expect(page.get_by_role("button", name="Yes, activate v6")).to_be_disabled()  # not while a training runs

    page.context.clear_cookies()
    visit(page, live_server.url + "/", screenshot_dir / f"narrow-home-anonymous-{width}.png")
    expect(page.locator(".notice-training")).to_have_count(1)


def test_activate_asks_first_at_390_px(live_server, boss, staff_page, fake_activation, screenshot_dir):
    ModelVersionFactory(number=1, status=Status.ACTIVE)
    candidate = ModelVersionFactory(number=2, quality=1.1)
    page = staff_page(390)
    from playwright.sync_api import expect

    page.goto(f"{live_server.url}/admin/recommender/modelversion/{candidate.pk}/change/")
    page.get_by_role("button", name="Activate").click()
    expect(page.get_by_role("heading", name="Activate model version 2?")).to_be_visible()
    expect(page.locator("#content")).to_contain_text("It replaces v1")
    assert ModelVersion.objects.get(number=2).status == Status.INACTIVE  # asked, not done
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    page.screenshot(path=str(screenshot_dir / "narrow-activate-question-390.png"), full_page=True)

    page.get_by_role("link", name="No, take me back").click()
    expect(page).to_have_url(f"{live_server.url}/admin/recommender/modelversion/{candidate.pk}/change/")
    assert ModelVersion.objects.get(number=2).status == Status.INACTIVE

    page.get_by_role("button", name="Activate").click()
    page.get_by_role("button", name="Yes, activate v2").click()
    expect(page.locator(".messagelist .success")).to_contain_text("Model version 2 is now serving")
    assert ModelVersion.objects.get(number=2).status == Status.ACTIVE
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    page.screenshot(path=str(screenshot_dir / "narrow-activated-390.png"), full_page=True)

"""The model-version admin as staff read it, at 1280 px and 390 px: buttons clear of the charts, the list fits,
the heading follows a running training, and the Activate message is on screen after the click."""

import pytest

from recommender.models import ModelVersion
from tests.factories import ModelVersionFactory

Status = ModelVersion.Status

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
WIDTHS = (1280, 390)


@pytest.fixture
def versions(superuser) -> dict[int, ModelVersion]:
    return {1: ModelVersionFactory(number=1, status=Status.ACTIVE), 2: ModelVersionFactory(number=2, quality=1.1)}


def boxes(page, selector: str) -> list[dict]:
    return [box for box in (el.bounding_box() for el in page.locator(selector).all()) if box]


def overlap(a: dict, b: dict) -> bool:
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


def assert_tools_clear(page) -> None:
    """The object-tools buttons cover no chart, table, progress box or collapsed section."""
    buttons = boxes(page, ".object-tools li")
    content = boxes(page, "#content img, #content table, #content details, #training-progress:not([hidden])")
    assert len(buttons) >= 2 and len(content) >= 3
    assert [(b, c) for b in buttons for c in content if overlap(b, c)] == []


def version_url(live_server, version: ModelVersion) -> str:
    return f"{live_server.url}/admin/recommender/modelversion/{version.pk}/change/"


@pytest.mark.parametrize("width", WIDTHS)
def test_version_page_buttons_clear_of_charts_and_tables(live_server, versions, staff_page, screenshot_dir, width):
    page = staff_page(width)
    page.goto(version_url(live_server, versions[2]))
    page.wait_for_function("[...document.images].every(img => img.complete && img.naturalWidth > 0)")
    page.screenshot(path=str(screenshot_dir / f"admin-version-{width}.png"), full_page=True)

    assert_tools_clear(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # nothing pushes the page sideways


@pytest.mark.parametrize("width", WIDTHS)
def test_version_list_fits_the_screen(live_server, versions, staff_page, screenshot_dir, width):
    for number in range(3, 8):
        ModelVersionFactory(number=number, quality=1 + number / 10)
    progress = {"stage": "refitting", "epoch": 12, "epochs": 30}  # the longest status the list shows
    ModelVersionFactory(number=8, status=Status.EVALUATING, metrics={}, finished_at=None, progress=progress)
    page = staff_page(width)
    page.goto(live_server.url + "/admin/recommender/modelversion/")
    page.wait_for_function("[...document.images].every(img => img.complete && img.naturalWidth > 0)")
    page.screenshot(path=str(screenshot_dir / f"admin-version-list-{width}.png"), full_page=True)
    assert page.locator("#training-progress").is_visible()
    assert_tools_clear(page)

    if width == 1280:  # on a phone the table scrolls inside its box, as every Django admin list does
        last = page.locator("#result_list thead th").last.bounding_box()
        assert last["x"] + last["width"] <= width
        assert page.locator("#result_list").bounding_box()["width"] <= width


def test_heading_follows_a_running_training(live_server, versions, staff_page, screenshot_dir):
    running = ModelVersionFactory(
        number=3,
        status=Status.TRAINING,
        metrics={},
        curve=[],
        finished_at=None,
        gate_passed=None,
        gate_reason="",
        progress={"stage": "training", "epoch": 2, "epochs": 10, "loss": 4.2, "elapsed_s": 20, "eta_s": 80},
    )
    page = staff_page(1280)
    page.goto(version_url(live_server, running))
    from playwright.sync_api import expect

    heading = page.locator("#content h2").first
    expect(heading).to_contain_text("training, epoch 2 of 10")
    ModelVersion.objects.filter(pk=running.pk).update(
        status=Status.EVALUATING, progress={"stage": "refitting", "epoch": 1, "epochs": 3}
    )
    expect(heading).to_contain_text("refitting, epoch 1 of 3", timeout=8_000)  # the 2 s poll, no reload
    expect(page.locator("#training-progress")).to_contain_text("refitting")
    assert_tools_clear(page)
    page.screenshot(path=str(screenshot_dir / "admin-version-running.png"), full_page=True)


def test_activate_shows_its_message_on_screen(live_server, versions, staff_page, fake_activation, screenshot_dir):
    page = staff_page(1280)
    page.goto(version_url(live_server, versions[2]))
    page.get_by_role("button", name="Activate").click()
    page.get_by_role("button", name="Yes, activate v2").click()  # it asks first (issue #27)
    from playwright.sync_api import expect

    message = page.locator(".messagelist .success")
    expect(message).to_contain_text("Model version 2 is now serving")
    expect(message).to_be_in_viewport()
    page.screenshot(path=str(screenshot_dir / "admin-version-activated.png"))
    assert ModelVersion.objects.get(number=2).status == ModelVersion.Status.ACTIVE

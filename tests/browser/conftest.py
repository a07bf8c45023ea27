"""Playwright + /usr/bin/chromium fixtures; every browser test is skipped, with the reason, when either is missing."""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def pytest_collection_modifyitems(config, items):
    reason = None
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        reason = f"{CHROMIUM} is missing (apt-get install -y chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            reason = "the playwright package is missing (pip install playwright==1.65.2)"
    if reason:
        for item in items:
            if "browser" in item.keywords:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture
def screenshot_dir() -> Path:
    """SCREENSHOT_DIR, else a folder in the system temp dir (never inside the repository)."""
    folder = Path(os.environ.get("SCREENSHOT_DIR") or Path(tempfile.gettempdir()) / "recsite-screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def browser(monkeypatch):
    # Playwright's sync API runs an event loop in this thread; Django's ORM (fixtures) refuses to run
    # inside one unless told it is safe (the live server handles requests in its own thread).
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


ADMIN_PASSWORD = "pw-for-tests-123"


@pytest.fixture
def superuser(transactional_db):
    """The superuser "boss", who logs in to the admin through staff_page."""
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_superuser(username="boss", password=ADMIN_PASSWORD)


@pytest.fixture
def staff_page(browser, live_server, superuser):
    """open(width): a new page of that width, logged in to the admin as the superuser."""

    def open_page(width: int):
        context = browser.new_context(viewport={"width": width, "height": 900})
        context.set_default_timeout(10_000)
        page = context.new_page()
        page.goto(live_server.url + "/admin/login/")
        page.fill("#id_username", superuser.username)
        page.fill("#id_password", ADMIN_PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url(live_server.url + "/admin/")
        return page

    return open_page


@pytest.fixture
def fake_activation(monkeypatch):
    """The database half of an activation for the admin's Activate; the vector store is not under test here."""
    from recommender.models import ModelVersion
    from recommender.services import training_jobs as jobs

    Status = ModelVersion.Status

    def activate(*, version):
        ModelVersion.objects.filter(status=Status.ACTIVE).update(status=Status.INACTIVE)
        ModelVersion.objects.filter(pk=version.pk).update(status=Status.ACTIVE)
        return version

    monkeypatch.setattr(jobs, "model_version_activate_checked", activate)

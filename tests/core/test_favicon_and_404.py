"""/favicon.ico answers with the site icon; an unknown page is the site's 404 page, never Django's URL list."""

import pytest
from django.conf import settings
from django.test import override_settings

pytestmark = pytest.mark.django_db


def test_favicon_is_the_site_svg_icon_cached_for_a_day(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response["Cache-Control"] == "public, max-age=86400"
    assert b"".join(response.streaming_content) == (settings.BASE_DIR / "static" / "favicon.svg").read_bytes()
    assert client.post("/favicon.ico").status_code == 405


@override_settings(DEBUG=False)
def test_an_unknown_page_is_the_site_404_page_without_the_url_patterns(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert [t.name for t in response.templates][:2] == ["404.html", "base.html"]
    body = response.content.decode()
    assert "<h1>Page not found</h1>" in body
    assert "URLconf" not in body and "admin/" not in body and "favicon.ico" not in body

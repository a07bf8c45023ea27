"""The OpenAPI schema generates without warnings and the Swagger UI is served without any CDN."""

import re

from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.management import call_command


def test_schema_validates_without_warnings(tmp_path):
    out = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    for path in ["/api/me/ratings/{movie_id}/", "/api/recall/", "/api/vectors/", "/api/batch-jobs/{job_id}/result/"]:
        assert f"  {path}:" in text


def test_docs_page_uses_local_assets_only(client):
    html = client.get("/api/docs/").content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(s.startswith("/") for s in sources), sources
    for source in sources:  # every asset is a file of the sidecar package, found by staticfiles
        assert source.startswith(settings.STATIC_URL.rstrip("/") + "/") or source.startswith("/" + settings.STATIC_URL)
        assert finders.find(source.split(settings.STATIC_URL, 1)[1]), source

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


def schema_paths(client) -> dict:
    return client.get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]


def test_the_catalogue_needs_no_token_and_the_rest_does(client):
    operations = {(path, method): op for path, ops in schema_paths(client).items() for method, op in ops.items()}
    public = {("/api/movies/", "get"), ("/api/movies/{movie_id}/", "get"), ("/api/movies/{movie_id}/similar/", "get")}
    token = [{"tokenAuth": []}, {"bearerAuth": []}, {"cookieAuth": []}]
    for key, operation in operations.items():
        if key in public:
            assert operation["security"] == [*token, {}], key  # {}: no credentials is fine too
        elif key != ("/api/auth/token/", "post"):  # logging in takes credentials in the body
            assert operation["security"] == token, key


def test_both_token_schemes_are_documented(client):
    schemes = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()["components"]["securitySchemes"]
    assert schemes["tokenAuth"]["type"] == "apiKey" and schemes["tokenAuth"]["name"] == "Authorization"
    assert 'prefix "Token"' in schemes["tokenAuth"]["description"]
    assert {k: schemes["bearerAuth"][k] for k in ("type", "scheme")} == {"type": "http", "scheme": "bearer"}


def test_every_operation_documents_the_400_of_an_unknown_query_parameter(client):
    for path, operations in schema_paths(client).items():
        for method, operation in operations.items():
            assert "400" in operation["responses"], (method, path)


def test_movies_show_a_display_title_and_recommendations_no_predicted_rating(client):
    components = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()["components"]["schemas"]
    assert {"title", "display_title", "average_rating"} <= set(components["Movie"]["properties"])
    assert "predicted_rating" not in components["RecommendedItem"]["properties"]

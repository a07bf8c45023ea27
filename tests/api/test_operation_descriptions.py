"""Every operation of the OpenAPI schema says what it does in words of its own (issue #27): a description distinct
from every other operation's and never the docstring of the Api base class (drf-spectacular falls back on an
inherited class docstring), and at least one tag of the defined set."""

import inspect

from api.base import TAGS, Api


def schema_operations(client) -> dict[tuple[str, str], dict]:
    paths = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    return {(method.upper(), path): op for path, ops in paths.items() for method, op in ops.items()}


def test_every_operation_has_a_description_of_its_own(client):
    operations = schema_operations(client)
    assert len(operations) >= 25
    base_doc = inspect.cleandoc(Api.__doc__)
    seen: dict[str, tuple[str, str]] = {}
    for key, operation in operations.items():
        description = operation.get("description", "").strip()
        assert description, f"{key} has no description"
        assert description != base_doc and base_doc not in description, f"{key} shows the Api base class docstring"
        assert description not in seen, f"{key} has the same description as {seen[description]}"
        seen[description] = key
        assert operation.get("summary", "").strip(), f"{key} has no summary"


def test_every_operation_has_a_tag_of_the_defined_set(client):
    for key, operation in schema_operations(client).items():
        tags = operation.get("tags", [])
        assert tags and set(tags) <= set(TAGS), (key, tags)


def test_every_defined_tag_groups_an_operation(client):
    used = {tag for operation in schema_operations(client).values() for tag in operation.get("tags", [])}
    assert used == set(TAGS)


def test_an_inherited_docstring_is_never_a_description():
    """A view without extend_schema(description=...) gets its own docstring, never one inherited from Api."""
    from rest_framework.test import APIRequestFactory

    class BareApi(Api):
        def get(self, request):
            pass

    class DocumentedApi(Api):
        """What it does."""

        def get(self, request):
            pass

    def description(view_class) -> str:
        view = view_class()
        view.request = APIRequestFactory().get("/")
        view.schema.view, view.schema.method, view.schema.path = view, "GET", "/"
        return view.schema.get_description()

    assert description(BareApi) == ""
    assert description(DocumentedApi) == "What it does."


def test_the_schema_lists_every_tag_with_its_description(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert [(t["name"], t["description"]) for t in schema["tags"]] == list(TAGS.items())

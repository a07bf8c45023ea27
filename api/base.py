"""What every API class shares: authentication order, schema naming, the query parameters it accepts, error and
page schemas, pagination.

Token authentication comes first so that an anonymous request is answered 401 with a
``WWW-Authenticate: Token`` header (session-first would make it a 403).
"""

import functools
import inspect
import re
import sys

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.pagination import PageNumberPagination
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from core.exceptions import ApplicationError

from .authentication import TokenOrBearerAuthentication

# The tags that group the operations in Swagger: an operation's is its module's TAG (ApiSchema.get_tags), unless its
# extend_schema(tags=...) names another.
TAGS = {
    "auth": "Obtain and revoke an API token.",
    "catalogue": "Movies: list, search, detail, similar movies. Public: no token needed.",
    "me": "The signed-in user's own data: ratings, hidden movies, recommendations, personal ranking.",
    "impressions": "Clicks on the movies of a recommended list (attribution to the version that served it).",
    "serving": "Recommendations and candidate recall for any MovieLens user (staff or service).",
    "jobs": "Batch recommendation jobs and their result files (staff or service).",
    "models": "Model versions: list, metrics, training, activation (staff or service).",
    "experiments": "A/B experiments between the live version and a candidate (staff or service).",
    "vectors": "The live vector collection in Milvus: count, re-sync, drop (staff or service).",
}


def schema_tags(result, generator, request, public):
    """drf-spectacular post-processing hook (SPECTACULAR_SETTINGS): the tags' descriptions, in TAGS' order."""
    result["tags"] = [{"name": name, "description": text} for name, text in TAGS.items()]
    return result


class ApiSchema(AutoSchema):
    """Names from the API class: operation RatingPutApi -> "rating_put", component RatingPutApi.InputSerializer
    -> "RatingPutInput" (so the nested InputSerializer/OutputSerializer names never collide)."""

    def _api(self) -> type:
        """The API class of this operation (one_path serves one URL with several)."""
        view_class = type(self.view)
        return getattr(view_class, "operations", {}).get(self.method.lower(), view_class)

    def get_operation_id(self):
        return re.sub(r"(?<!^)(?=[A-Z])", "_", self._api().__name__.removesuffix("Api")).lower()

    def get_tags(self):
        """The TAG of the API class's module (extend_schema(tags=...) overrides it); drf-spectacular's default
        (the path's first segment) where the module has none."""
        tag = getattr(sys.modules[self._api().__module__], "TAG", None)
        return [tag] if tag else super().get_tags()

    def get_description(self):
        """extend_schema(description=...) first (drf-spectacular's override); else the operation's own docstring:
        its method's, then its API class's own. Never an inherited one: drf-spectacular would fall back on the
        docstring of Api, and every operation would show the same text."""
        api = self._api()
        own = [getattr(api.__dict__.get(self.method.lower()), "__doc__", None), api.__dict__.get("__doc__")]
        return next((inspect.cleandoc(doc) for doc in own if doc), "")

    def get_serializer_name(self, serializer, direction):
        qualname = type(serializer).__qualname__
        if "." not in qualname:
            return super().get_serializer_name(serializer, direction)
        outer, inner = qualname.rsplit(".", 2)[-2:]
        return outer.removesuffix("Api") + inner.removesuffix("Serializer")


class TokenOrBearerScheme(OpenApiAuthenticationExtension):
    """The token as two alternative security schemes: "Token <key>" (tokenAuth) or "Bearer <key>" (bearerAuth)."""

    target_class = TokenOrBearerAuthentication
    name = ["tokenAuth", "bearerAuth"]

    def get_security_requirement(self, auto_schema):
        return [{name: []} for name in self.name]  # either one (a dict of both would mean both at once)

    def get_security_definition(self, auto_schema):
        token = build_bearer_security_scheme_object(header_name="Authorization", token_prefix="Token")
        bearer = build_bearer_security_scheme_object(header_name="Authorization", token_prefix="Bearer")
        return [token, {**bearer, "description": 'The tokenAuth token, sent with the prefix "Bearer".'}]


class Api(APIView):
    """Base of every API class (IsAuthenticated by default, from settings).

    ``query_parameters`` is what the operation documents in ``extend_schema(parameters=...)``: its FilterSerializer
    and OpenApiParameters (PAGE_PARAMETERS, ...). A query string naming anything else is refused with a 400 naming
    it (a misspelt ``?serach=`` would otherwise be ignored silently); None accepts anything.
    """

    authentication_classes = [TokenOrBearerAuthentication, SessionAuthentication]
    schema = ApiSchema()
    query_parameters: list | None = []

    def operation(self) -> type["Api"]:
        """The API class serving this request (one_path serves one URL with several)."""
        return type(self)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)  # authentication, permissions, throttles come first
        if getattr(self, request.method.lower(), None) is not None:  # else a 405 follows
            query_parameters_check(request=request, operation=self.operation())


# --- query parameters -------------------------------------------------------------------------------------


@functools.cache
def query_parameters_accepted(operation: type[Api]) -> frozenset[str] | None:
    """The names an operation's query_parameters document: a serializer's fields, an OpenApiParameter's name."""
    if operation.query_parameters is None:
        return None
    names = set()
    for parameter in operation.query_parameters:
        names.update([parameter.name] if isinstance(parameter, OpenApiParameter) else parameter().fields)
    return frozenset(names)


def query_parameters_check(*, request, operation: type[Api]) -> None:
    """An ApplicationError (400) naming every query parameter the operation does not document; DRF's ``format``
    (the renderer override, ``?format=json``) is accepted everywhere."""
    accepted = query_parameters_accepted(operation)
    if accepted is None:
        return
    unknown = sorted(set(request.query_params) - accepted - {api_settings.URL_FORMAT_OVERRIDE})
    if unknown:
        takes = ", ".join(sorted(accepted)) or "none"
        raise ApplicationError(
            f"Unknown query parameter{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)} (this endpoint takes: "
            f"{takes}).",
            {"unknown": unknown, "accepted": sorted(accepted)},
        )


def one_path(*apis: type[Api]) -> type[Api]:
    """One URL whose HTTP methods are served by separate single-operation API classes (e.g. PUT and DELETE
    of a rating). Each class keeps its own authentication and permissions; its method must name its own
    nested serializers (``RatingPutApi.InputSerializer``, not ``self.InputSerializer``)."""
    by_method = {m: api for api in apis for m in ("get", "post", "put", "patch", "delete") if m in api.__dict__}

    class PathApi(*apis):
        def initialize_request(self, request, *args, **kwargs):
            self._operation = by_method.get(request.method.lower(), apis[0])
            return super().initialize_request(request, *args, **kwargs)

        def operation(self) -> type[Api]:
            return getattr(self, "_operation", apis[0])

        def get_authenticators(self):
            return [authenticator() for authenticator in self.operation().authentication_classes]

        def get_permissions(self):
            return [permission() for permission in self.operation().permission_classes]

    PathApi.operations = by_method
    PathApi.__name__ = PathApi.__qualname__ = "".join(api.__name__ for api in apis)
    return PathApi


# --- errors -----------------------------------------------------------------------------------------------


class ErrorSerializer(serializers.Serializer):
    message = serializers.CharField()
    extra = serializers.DictField(
        help_text='Details; for validation errors {"fields": {name: [messages]}}, for unknown query parameters '
        '{"unknown": [names], "accepted": [names]}.'
    )


ERROR_DESCRIPTIONS = {
    400: "Invalid input (the field is named in extra.fields), an unknown query parameter (named in extra.unknown) "
    "or a refused operation.",
    401: "No valid session or token.",
    403: "Not allowed for this user.",
    404: "Not found.",
    409: "Conflict with the current state.",
    429: "Too many requests (throttled, or too many failed log-ins); extra.wait says how many seconds to wait.",
    503: "A service it needs (model, vector store, job broker) is unavailable right now.",
}


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    """Error responses for extend_schema(responses=...): all in the one {"message", "extra"} format. 400 is always
    among them: Api.initial refuses unknown query parameters on every operation."""
    every = sorted({400, *codes})
    return {code: OpenApiResponse(ErrorSerializer, description=ERROR_DESCRIPTIONS[code]) for code in every}


# --- pagination -------------------------------------------------------------------------------------------


PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX = api_settings.PAGE_SIZE, 100  # REST_FRAMEWORK["PAGE_SIZE"] in settings


class ApiPagination(PageNumberPagination):
    """DRF's page-number pagination, whose page_size parameter is validated like every other query parameter: a
    400 naming it for anything but a whole number from 1 to PAGE_SIZE_MAX (DRF ignores 0, -5 or abc and caps 1000
    without a word)."""

    page_size = PAGE_SIZE_DEFAULT
    page_size_query_param = "page_size"
    max_page_size = PAGE_SIZE_MAX

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not re.fullmatch(r"[0-9]{1,9}", raw) or not 1 <= int(raw) <= self.max_page_size:
            raise serializers.ValidationError(
                {self.page_size_query_param: [f"A whole number from 1 to {self.max_page_size} (got {raw[:20]!r})."]}
            )
        return int(raw)


PAGE_PARAMETERS = [
    OpenApiParameter("page", int, description="Page number (from 1)."),
    OpenApiParameter(
        "page_size",
        {"type": "integer", "minimum": 1, "maximum": PAGE_SIZE_MAX},
        description=f"Items per page (default {PAGE_SIZE_DEFAULT}, from 1 to {PAGE_SIZE_MAX}; anything else is a 400).",
    ),
]


def page_of(serializer_class: type[serializers.Serializer], name: str) -> type[serializers.Serializer]:
    """The schema of one page of serializer_class (count, next, previous, results)."""
    fields = {
        "count": serializers.IntegerField(),
        "next": serializers.URLField(allow_null=True),
        "previous": serializers.URLField(allow_null=True),
        "results": serializer_class(many=True),
    }
    return type(name, (serializers.Serializer,), {**fields, "__module__": __name__})


def paginated_response(*, queryset, serializer_class, request, view):
    paginator = ApiPagination()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)

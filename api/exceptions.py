"""The one error format of the API: {"message": str, "extra": {...}}, produced by api_exception_handler.

- NotFoundError (a service's "no such thing")      -> 404 {"message": <its message>, "extra": <its extra>}
- ConflictError (refused by the current state, e.g.
  a training holds the lock)                       -> 409 {"message": <its message>, "extra": <its extra>}
- ApplicationError (raised by services)           -> 400 {"message": <its message>, "extra": <its extra>}
- DRF / Django validation errors                   -> 400 {"message": "Validation error", "extra": {"fields": {...}}}
- no model or vector store to serve (NoLiveModel,
  VectorStoreError)                                -> 503 {"message": ..., "extra": {}}
- ServiceUnavailableError (e.g. the job broker is
  unreachable: the job row is already failed)       -> 503 {"message": <its message>, "extra": <its extra>}
- TooManyRequestsError (too many failed log-ins)  -> 429 {"message": ..., "extra": {"wait": s}}, Retry-After
- every other APIException (401, 403, 404, 405, 409, 415, 429, 503 ...) -> its status, {"message": detail, "extra"}
- a body Django refuses (RequestDataTooBig past DATA_UPLOAD_MAX_MEMORY_SIZE, too many fields or files: its
  SuspiciousOperation subclasses), or JSON nested too deep (parsers.JSONParser) -> 400 {"message": ..., "extra": {}}
  with DEBUG on or off, never Django's HTML 400/500 page
- an error Django itself answers for an /api/ path (handler400 / handler500 below, DEBUG off) -> the same format
"""

import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler

from core.exceptions import (
    ApplicationError,
    ConflictError,
    NotFoundError,
    ServiceUnavailableError,
    TooManyRequestsError,
)
from recommender.serving import NoLiveModel
from recommender.vectorstore import VectorStoreError


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The resource is not in a state that allows this."
    default_code = "conflict"


class ServiceUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "No model is serving right now; try again later."
    default_code = "service_unavailable"


def _message(detail) -> str:
    if isinstance(detail, list) and detail:
        return _message(detail[0])
    if isinstance(detail, dict) and detail:
        return _message(next(iter(detail.values())))
    return str(detail)


API_PREFIX = "/api/"  # where recsite/urls.py mounts api.urls


def _refused_body(exc: SuspiciousOperation, context) -> exceptions.ParseError:
    """A body Django would not read: logged where Django logs it, and the request's data left empty (as DRF does
    after a parse error) so that nothing rendering the answer tries to read it again."""
    logging.getLogger(f"django.security.{type(exc).__name__}").warning("%s", exc)
    request = context.get("request")
    if request is not None:
        request._full_data = request._data = {}
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return exceptions.ParseError(f"Request body too large: the API reads at most {limit} bytes.")
    return exceptions.ParseError(str(exc) or "Request body refused.")


def api_exception_handler(exc, context):
    """Map every error raised in an API view to the one format; None (a 500) only for real bugs."""
    if isinstance(exc, SuspiciousOperation):
        exc = _refused_body(exc, context)
    if isinstance(exc, TooManyRequestsError):
        exc = exceptions.Throttled(wait=exc.extra.get("wait"), detail=exc.message)
    if isinstance(exc, NotFoundError):
        return Response({"message": exc.message, "extra": exc.extra}, status=status.HTTP_404_NOT_FOUND)
    if isinstance(exc, ConflictError):
        return Response({"message": exc.message, "extra": exc.extra}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, ServiceUnavailableError):
        return Response({"message": exc.message, "extra": exc.extra}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
    if isinstance(exc, ApplicationError):
        return Response({"message": exc.message, "extra": exc.extra}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, NoLiveModel | VectorStoreError):
        # the detail names the Milvus address or a server path: staff only (as recommender.presentation does)
        user = getattr(context.get("request"), "user", None)
        exc = ServiceUnavailable(f"No model is serving right now: {exc}" if getattr(user, "is_staff", False) else None)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = response.data if isinstance(response.data, dict) else {"non_field_errors": response.data}
        response.data = {"message": "Validation error", "extra": {"fields": fields}}
    else:
        detail = getattr(exc, "detail", response.data)
        extra = {"wait": exc.wait} if isinstance(exc, exceptions.Throttled) and exc.wait is not None else {}
        response.data = {"message": _message(detail), "extra": extra}
    return response


# --- errors Django answers itself (DEBUG off): JSON under /api/, the site's own pages elsewhere ---------------


def _json_error(message: str, code: int) -> JsonResponse:
    return JsonResponse({"message": message, "extra": {}}, status=code)


def bad_request(request, exception, template_name=defaults.ERROR_400_TEMPLATE_NAME):
    if request.path.startswith(API_PREFIX):
        return _json_error("Bad request.", status.HTTP_400_BAD_REQUEST)
    return defaults.bad_request(request, exception, template_name)


def server_error(request, template_name=defaults.ERROR_500_TEMPLATE_NAME):
    if request.path.startswith(API_PREFIX):
        return _json_error("Server error: it was logged.", status.HTTP_500_INTERNAL_SERVER_ERROR)
    return defaults.server_error(request, template_name)

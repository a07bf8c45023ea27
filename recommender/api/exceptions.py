"""The one error format of the API: {"message": str, "extra": {...}}, produced by api_exception_handler.

- NotFoundError (a service's "no such thing")      -> 404 {"message": <its message>, "extra": <its extra>}
- ApplicationError (raised by services)           -> 400 {"message": <its message>, "extra": <its extra>}
- DRF / Django validation errors                   -> 400 {"message": "Validation error", "extra": {"fields": {...}}}
- no model or vector store to serve (NoLiveModel,
  VectorStoreError)                                -> 503 {"message": ..., "extra": {}}
- every other APIException (401, 403, 404, 405, 409, 415, 429, 503 ...) -> its status, {"message": detail, "extra"}
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler

from recommender.serving import NoLiveModel
from recommender.vectorstore import VectorStoreError
from recsite.exceptions import ApplicationError, NotFoundError


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


def api_exception_handler(exc, context):
    """Map every error raised in an API view to the one format; None (a 500) only for real bugs."""
    if isinstance(exc, NotFoundError):
        return Response({"message": exc.message, "extra": exc.extra}, status=status.HTTP_404_NOT_FOUND)
    if isinstance(exc, ApplicationError):
        return Response({"message": exc.message, "extra": exc.extra}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, NoLiveModel | VectorStoreError):
        exc = ServiceUnavailable(f"No model is serving right now: {exc}")
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


def training_lock_conflict(exc: ApplicationError) -> Exception:
    """The training lock refuses with extra {"number": <running version>}: a 409; any other refusal stays a 400."""
    return Conflict(exc.message) if "number" in exc.extra else exc

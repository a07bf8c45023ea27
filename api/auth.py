"""Token authentication for API clients: obtain a token with username + password, revoke it."""

from django.db import transaction
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response

from core.exceptions import ApplicationError
from movies.logins import login_authenticate

from .base import Api, errors

TAG = "auth"  # the Swagger group of the operations here (ApiSchema.get_tags)


@transaction.atomic
def auth_token_obtain(*, request, username: str, password: str) -> str:
    """The user's token (created on first use); an ApplicationError for wrong credentials or an inactive user,
    TooManyRequestsError after too many failures for the account or from the address (movies/logins.py)."""
    user = login_authenticate(request=request, username=username, password=password)
    if user is None or not user.is_active:
        raise ApplicationError("Unable to log in with the given username and password.", {"field": "password"})
    token, _ = Token.objects.get_or_create(user=user)
    return token.key


@transaction.atomic
def auth_token_revoke(*, user) -> bool:
    """Delete the user's token (every client using it must obtain a new one); returns whether one existed."""
    deleted, _ = Token.objects.filter(user=user).delete()
    return bool(deleted)


class TokenObtainApi(Api):
    permission_classes = [AllowAny]
    authentication_classes = []  # credentials are in the body; a stale token must not block a new login

    class InputSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=150)
        password = serializers.CharField(max_length=128, trim_whitespace=False, style={"input_type": "password"})

    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField(
            help_text='Send as the header "Authorization: Token <token>" or "Authorization: Bearer <token>".'
        )

    @extend_schema(
        summary="Obtain an API token",
        description="Exchanges a username and password for the user's API token (created on first use; the same "
        "token comes back until it is revoked). Send it as `Authorization: Token <token>` or `Authorization: Bearer "
        "<token>`. Needs no authentication.\n\nErrors: 400 for a missing field, wrong credentials or an inactive "
        "user; 429 after too many failed log-ins for the account or from the address (extra.wait, Retry-After).",
        examples=[
            OpenApiExample("Log in", value={"username": "alice", "password": "correct horse"}, request_only=True),
            OpenApiExample("Token", value={"token": "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"}, response_only=True),
        ],
        request=InputSerializer,
        responses={200: OutputSerializer, **errors(429)},
        auth=[],
    )
    def post(self, request):
        serializer = TokenObtainApi.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        key = auth_token_obtain(request=request, **serializer.validated_data)
        return Response(TokenObtainApi.OutputSerializer({"token": key}).data)


class TokenRevokeApi(Api):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Revoke your API token",
        description="Deletes the caller's token: every client using it is answered 401 until it obtains a new one "
        "(POST /api/auth/token/). 204, no body.\n\nErrors: 401 without a valid token or session.",
        request=None,
        responses={204: None, **errors(401)},
    )
    def delete(self, request):
        auth_token_revoke(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

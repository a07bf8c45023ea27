"""Click events: an API client tells which movie of a recorded list (its ``impression_id``) the user opened."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from recommender.impressions.services import NotShown, click_record, impression_of_user

from .base import Api, errors
from .fields import INT32_MAX, StrictIntegerField

TAG = "impressions"  # the Swagger group of the operations here (ApiSchema.get_tags)


class ImpressionClickApi(Api):
    class InputSerializer(serializers.Serializer):
        movie = StrictIntegerField(min_value=1, max_value=INT32_MAX, help_text="A movie id the list showed.")

    class OutputSerializer(serializers.Serializer):
        impression_id = serializers.UUIDField()
        movie = serializers.IntegerField(source="movie_id")
        clicked_at = serializers.DateTimeField(help_text="The first click on this movie from this list.")

    @extend_schema(
        summary="Record a click on a movie of a list you were shown",
        description="Once per list and movie (a repeat answers the first click, 200). Counted for the list's "
        "model version when it comes within ATTRIBUTION_WINDOW_DAYS of the list. 201 for the first click.\n\n"
        "Errors: 400 when the movie was not in that list; 401; 404 when impression_id is not a list shown to the "
        "caller (or not a UUID).",
        examples=[OpenApiExample("Opened movie 50", value={"movie": 50}, request_only=True)],
        parameters=[OpenApiParameter("impression_id", OpenApiTypes.UUID, OpenApiParameter.PATH)],
        request=InputSerializer,
        responses={201: OutputSerializer, 200: OutputSerializer, **errors(401, 404)},
    )
    def post(self, request, impression_id: str):
        serializer = ImpressionClickApi.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        impression = impression_of_user(user=request.user, impression_id=impression_id)  # NotFoundError: 404
        movie = serializer.validated_data["movie"]
        try:
            click, created = click_record(impression=impression, movie_id=movie)
        except NotShown as exc:
            raise ValidationError({"movie": [str(exc)]}) from exc
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(ImpressionClickApi.OutputSerializer(click).data, status=code)

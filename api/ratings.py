"""The signed-in user's own ratings: list, create or update (PUT), delete. Nobody reaches another user's."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from movies.movielens import SCORE_MAX, SCORE_MIN
from movies.selectors import user_ratings
from movies.services import rating_delete, rating_upsert

from .base import PAGE_PARAMETERS, Api, errors, page_of, paginated_response
from .fields import ScoreField

TAG = "me"  # the Swagger group of the operations here (ApiSchema.get_tags)


class RatingSerializer(serializers.Serializer):
    movie_id = serializers.IntegerField()
    title = serializers.CharField(source="movie.title")
    score = ScoreField()
    rated_at = serializers.DateTimeField()


class RatingListApi(Api):
    query_parameters = PAGE_PARAMETERS
    OutputSerializer = RatingSerializer

    @extend_schema(
        summary="Your ratings, newest first",
        description="Pages of the caller's own ratings (movie id, title, score, when).\n\nErrors: 401 without a "
        "valid token or session; 404 for a page past the last.",
        parameters=query_parameters,
        responses={200: page_of(RatingSerializer, "RatingPage"), **errors(401, 404)},
    )
    def get(self, request):
        ratings = user_ratings(user=request.user)
        return paginated_response(queryset=ratings, serializer_class=RatingSerializer, request=request, view=self)


class RatingPutApi(Api):
    class InputSerializer(serializers.Serializer):
        score = ScoreField()

    OutputSerializer = RatingSerializer

    @extend_schema(
        summary="Rate a movie (create or change your rating)",
        description=f"Sets the caller's score for the movie: a JSON number from {SCORE_MIN:g} to {SCORE_MAX:g} in half "
        "stars. 201 with the "
        'rating when it is new, 200 when it replaced one.\n\nErrors: 400 for any other score ("4", 4.25, '
        "true); 401; 404 when no movie has this id.",
        examples=[OpenApiExample("Four and a half stars", value={"score": 4.5}, request_only=True)],
        request=InputSerializer,
        responses={
            200: OpenApiResponse(RatingSerializer, description="Rating changed."),
            201: OpenApiResponse(RatingSerializer, description="Rating created."),
            **errors(401, 404),
        },
    )
    def put(self, request, movie_id: int):
        serializer = RatingPutApi.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rating, created = rating_upsert(user=request.user, movie_id=movie_id, score=serializer.validated_data["score"])
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(RatingSerializer(rating).data, status=code)


class RatingDeleteApi(Api):
    @extend_schema(
        summary="Remove your rating of a movie",
        description="Deletes the caller's rating of the movie. 204, no body.\n\nErrors: 401; 404 when the caller "
        "has not rated it.",
        responses={204: None, **errors(401, 404)},
    )
    def delete(self, request, movie_id: int):
        if not rating_delete(user=request.user, movie_id=movie_id):
            raise NotFound(f"you have not rated movie {movie_id}")
        return Response(status=status.HTTP_204_NO_CONTENT)

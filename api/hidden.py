"""The signed-in user's "not interested" movies: list, hide (POST), unhide (DELETE). Hidden movies never appear in
that user's recommendations or similar-movie lists."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from movies.selectors import user_hidden_movies
from movies.services import movie_hide, movie_unhide

from .base import PAGE_PARAMETERS, Api, errors, page_of, paginated_response
from .fields import INT32_MAX, StrictIntegerField

TAG = "me"  # the Swagger group of the operations here (ApiSchema.get_tags)


class HiddenMovieSerializer(serializers.Serializer):
    movie_id = serializers.IntegerField()
    title = serializers.CharField(source="movie.title")
    hidden_at = serializers.DateTimeField(source="created_at")


class HiddenMovieListApi(Api):
    query_parameters = PAGE_PARAMETERS
    OutputSerializer = HiddenMovieSerializer

    @extend_schema(
        summary="Movies you are not interested in, most recently hidden first",
        description='Pages of the movies the caller marked "not interested" (movie id, title, when). They never '
        "appear in the caller's recommendations or similar-movie lists.\n\nErrors: 401; 404 for a page past the "
        "last.",
        parameters=query_parameters,
        responses={200: page_of(HiddenMovieSerializer, "HiddenMoviePage"), **errors(401, 404)},
    )
    def get(self, request):
        hidden = user_hidden_movies(user=request.user)
        return paginated_response(queryset=hidden, serializer_class=HiddenMovieSerializer, request=request, view=self)


class HiddenMovieCreateApi(Api):
    class InputSerializer(serializers.Serializer):
        movie_id = StrictIntegerField(min_value=1, max_value=INT32_MAX)

    OutputSerializer = HiddenMovieSerializer

    @extend_schema(
        summary="Hide a movie from your recommendations (not interested)",
        description='Marks the movie "not interested": it leaves the caller\'s recommendations and similar-movie '
        "lists. 201 when newly hidden, 200 (same body) when it already was.\n\nErrors: 400 when movie_id is "
        "missing, not an integer or names no movie; 401.",
        examples=[OpenApiExample("Hide movie 1", value={"movie_id": 1}, request_only=True)],
        request=InputSerializer,
        responses={
            200: OpenApiResponse(HiddenMovieSerializer, description="The movie was already hidden."),
            201: OpenApiResponse(HiddenMovieSerializer, description="Movie hidden."),
            **errors(401),
        },
    )
    def post(self, request):
        serializer = HiddenMovieCreateApi.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        hidden, created = movie_hide(user=request.user, movie_id=serializer.validated_data["movie_id"])
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(HiddenMovieSerializer(hidden).data, status=code)


class HiddenMovieDeleteApi(Api):
    @extend_schema(
        summary="Show a hidden movie in your recommendations again",
        description="Un-hides the movie: it may appear in the caller's lists again. 204, no body.\n\nErrors: 401; "
        "404 when the caller has not hidden it.",
        responses={204: None, **errors(401, 404)},
    )
    def delete(self, request, movie_id: int):
        if not movie_unhide(user=request.user, movie_id=movie_id):
            raise NotFound(f"you have not hidden movie {movie_id}")
        return Response(status=status.HTTP_204_NO_CONTENT)

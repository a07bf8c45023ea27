"""Catalogue endpoints: movie list (search, filters, ordering), detail and similar movies. Public: no token needed
(anonymous callers are held to the anonymous throttle, API_THROTTLE_ANON)."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from movies.movielens import SCORE_MAX, SCORE_MIN
from movies.selectors import SORTS, movie_list, movies_by_ids
from recommender.impressions.models import Surface
from recommender.impressions.services import impression_record
from recommender.services.recommendations import Source, similar_movies

from .base import PAGE_PARAMETERS, Api, errors, page_of, paginated_response
from .fields import FallbackReasonField, GenreField, k_query_field, year_query_field, years_check

TAG = "catalogue"  # the Swagger group of the operations here (ApiSchema.get_tags)


class MovieSerializer(serializers.Serializer):
    """A movie as every endpoint shows it (genres come from a prefetch, never one query per movie)."""

    id = serializers.IntegerField()
    title = serializers.CharField(help_text='As MovieLens stores it: "Godfather, The (1972)".')
    display_title = serializers.CharField(help_text='As people write it: "The Godfather".')
    year = serializers.IntegerField(allow_null=True)
    genres = serializers.SerializerMethodField()
    rating_count = serializers.IntegerField()
    average_rating = serializers.SerializerMethodField(
        help_text=f"Mean score ({SCORE_MIN:g}-{SCORE_MAX:g}), 2 decimals; null when unrated."
    )

    def get_genres(self, movie) -> list[str]:
        return [genre.name for genre in movie.genres.all()]

    def get_average_rating(self, movie) -> float | None:
        average = movie.average_rating
        return None if average is None else round(average, 2)


def impression_id_field():
    """The id of the impression this answer was recorded as (POST /api/impressions/<id>/clicks/ when the user opens
    one of its movies); null when nothing was recorded (an anonymous caller, an empty list, a failed write)."""
    return serializers.UUIDField(
        allow_null=True,
        default=None,
        help_text="This list as recorded for attribution: send clicks to /api/impressions/<id>/clicks/; null when "
        "nothing was recorded (anonymous caller, empty list).",
    )


class ScoredMovieSerializer(serializers.Serializer):
    movie = MovieSerializer()
    score = serializers.FloatField()
    source = serializers.ChoiceField(
        choices=[s.value for s in Source],
        help_text="Where the movie came from: co_ratings (rated by the same people), vectors (nearest movie "
        "vectors in Milvus), co_ratings+vectors (both), popularity (no model serving).",
    )


def movie_or_404(movie_id: int):
    movie = movies_by_ids([movie_id]).get(movie_id)
    if movie is None:
        raise NotFound(f"movie {movie_id} does not exist")
    return movie


class MovieListApi(Api):
    permission_classes = [AllowAny]

    class FilterSerializer(serializers.Serializer):
        search = serializers.CharField(required=False, default="", allow_blank=True, max_length=100)
        genre = GenreField(default="", allow_blank=True)
        year_min = year_query_field()
        year_max = year_query_field()
        ordering = serializers.ChoiceField(choices=list(SORTS), default="popularity")

        def validate(self, attrs):
            return years_check(attrs)

    query_parameters = [FilterSerializer, *PAGE_PARAMETERS]
    OutputSerializer = MovieSerializer

    @extend_schema(
        summary="List movies",
        description="Pages of the catalogue, filtered by search (in the title), genre and year_min/year_max, ordered "
        "by ordering (popularity by default, rating, year, -year, title). Public: an anonymous caller is held to the "
        "anonymous throttle.\n\nErrors: 400 for an unknown genre, year_min above year_max or an unknown query "
        "parameter; 401 for an invalid token (none is fine); 404 for a page past the last; 429 when throttled.\n\n"
        "Example: `GET /api/movies/?search=godfather&ordering=year&page_size=5`.",
        parameters=query_parameters,
        responses={200: page_of(MovieSerializer, "MoviePage"), **errors(401, 404, 429)},
    )
    def get(self, request):
        filters = MovieListApi.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        params = filters.validated_data
        movies = movie_list(
            search=params["search"],
            genre=params["genre"],
            year_min=params.get("year_min"),
            year_max=params.get("year_max"),
            sort=params["ordering"],
        )
        return paginated_response(queryset=movies, serializer_class=MovieSerializer, request=request, view=self)


class MovieDetailApi(Api):
    permission_classes = [AllowAny]

    @extend_schema(
        summary="One movie",
        description="A movie by id: its MovieLens and display titles, year, genres, rating count and average "
        "rating. Public.\n\nErrors: 404 when no movie has this id; 401 for an invalid token; 429 when throttled.",
        responses={200: MovieSerializer, **errors(401, 404, 429)},
    )
    def get(self, request, movie_id: int):
        return Response(MovieSerializer(movie_or_404(movie_id)).data)


class MovieSimilarApi(Api):
    permission_classes = [AllowAny]

    class FilterSerializer(serializers.Serializer):
        k = k_query_field()

    query_parameters = [FilterSerializer]

    class OutputSerializer(serializers.Serializer):
        items = ScoredMovieSerializer(many=True)
        fallback = serializers.BooleanField(help_text="True when the answer is popularity, not the model.")
        fallback_reason = FallbackReasonField()
        model_version = serializers.IntegerField(allow_null=True)
        impression_id = impression_id_field()

    @extend_schema(
        summary="Movies similar to this one (co-ratings blended with the nearest movie vectors)",
        description="Up to k (default 10, at most 100) movies like this one: movies rated by the same people blended "
        "with the nearest movie vectors of the live version; popular movies when no model serves (fallback true, "
        "fallback_reason says why). For a signed-in caller it leaves out movies they hid and is recorded as an "
        "impression (impression_id). Public.\n\nErrors: 400 for a bad k; 401 for an invalid token; 404 when no "
        "movie has this id; 429 when throttled.",
        parameters=query_parameters,
        responses={200: OutputSerializer, **errors(401, 404, 429)},
    )
    def get(self, request, movie_id: int):
        filters = MovieSimilarApi.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        movie_or_404(movie_id)
        result = similar_movies(movie_id=movie_id, k=filters.validated_data["k"], user=request.user)
        impression_record(user=request.user, surface=Surface.API_SIMILAR, recs=result)
        return Response(MovieSimilarApi.OutputSerializer(result, context={"request": request}).data)

"""Recommendations: your own, personalised ranking of given movies, and (staff/service) any MovieLens user's
recommendations and raw candidate recall for histories (the seeds' interface)."""

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from movies.models import Profile
from recommender.impressions.models import Surface
from recommender.impressions.services import impression_record
from recommender.services.batch import candidates_recall
from recommender.services.recommendations import Source, rank_for_user, recommend_for_user

from .base import Api, errors
from .fields import (
    INT32_MAX,
    FallbackReasonField,
    FiniteFloatField,
    GenreField,
    QueryIntegerField,
    StrictIntegerField,
    k_query_field,
    year_query_field,
    years_check,
)
from .movies import MovieSerializer, impression_id_field
from .permissions import IsStaffOrService

TAG = "me"  # the Swagger group of the operations here (ApiSchema.get_tags)


class RecommendedItemSerializer(serializers.Serializer):
    movie = MovieSerializer()
    score = serializers.FloatField(
        help_text="Higher first. two_tower: the cosine of the user and movie vectors, or the second stage's score when "
        "the serving version kept a ranker; popularity: rating count over the most rated; similar movies: the blend."
    )
    reason = serializers.SerializerMethodField(help_text='"because you rated <title>", or null.')
    because_movie_id = serializers.IntegerField(source="because.pk", allow_null=True, default=None)
    source = serializers.ChoiceField(
        choices=[s.value for s in Source],
        help_text="Where the movie came from: two_tower (a search with the user's vector), popularity (cold start "
        "or fallback); similar movies: co_ratings, vectors, or co_ratings+vectors.",
    )

    def get_reason(self, item) -> str | None:
        return f"because you rated {item.because.title}" if item.because is not None else None


class RecommendationsSerializer(serializers.Serializer):
    items = RecommendedItemSerializer(many=True)
    fallback = serializers.BooleanField(help_text="True when the answer is popularity, not the model.")
    fallback_reason = FallbackReasonField()
    model_version = serializers.IntegerField(allow_null=True)
    impression_id = impression_id_field()


class MyRecommendationsApi(Api):
    class FilterSerializer(serializers.Serializer):
        k = k_query_field()
        genre = GenreField(default="", allow_blank=True)
        year_min = year_query_field()
        year_max = year_query_field()
        explore = FiniteFloatField(
            required=False, default=0.0, min_value=0.0, max_value=1.0, help_text="Share of slots for rarely rated."
        )
        max_per_genre = QueryIntegerField(required=False, min_value=1, max_value=100)

        def validate(self, attrs):
            return years_check(attrs)

    query_parameters = [FilterSerializer]
    OutputSerializer = RecommendationsSerializer

    @extend_schema(
        summary="Your recommendations",
        description="The caller's top k (default 10, at most 100) movies from the live two-tower model, leaving out "
        'movies they hid, each with its score, source and reason ("because you rated ..."). Filters: genre, '
        "year_min/year_max; explore (0 to 1) gives that share of slots to rarely rated movies; max_per_genre caps "
        "each genre. A user without ratings, or anyone while no model serves, gets popular movies (fallback true, "
        "fallback_reason says why). The list is recorded as an impression (impression_id, for clicks); during an A/B "
        "experiment model_version is the arm's version.\n\nErrors: 400 for a bad filter (named in extra.fields) or "
        "an unknown query parameter; 401.\n\nExample: `GET /api/me/recommendations/?k=20&genre=Comedy&explore=0.2`.",
        parameters=query_parameters,
        responses={200: RecommendationsSerializer, **errors(401)},
    )
    def get(self, request):
        filters = MyRecommendationsApi.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        params = filters.validated_data
        result = recommend_for_user(
            user=request.user,
            k=params["k"],
            genre=params["genre"] or None,
            year_min=params.get("year_min"),
            year_max=params.get("year_max"),
            explore=params["explore"],
            max_per_genre=params.get("max_per_genre"),
        )
        impression_record(user=request.user, surface=Surface.API_RECOMMENDATIONS, recs=result)
        return Response(RecommendationsSerializer(result, context={"request": request}).data)


class RankApi(Api):
    class InputSerializer(serializers.Serializer):
        movie_ids = serializers.ListField(
            child=StrictIntegerField(min_value=1, max_value=INT32_MAX), min_length=1, max_length=500
        )

    class OutputSerializer(serializers.Serializer):
        items = RecommendedItemSerializer(many=True, help_text="The given movies, best first, with scores.")
        unranked = serializers.ListField(
            child=serializers.IntegerField(), help_text="Given ids the model cannot score (unknown movies)."
        )
        fallback = serializers.BooleanField()
        fallback_reason = FallbackReasonField()
        model_version = serializers.IntegerField(allow_null=True)
        impression_id = impression_id_field()

    @extend_schema(
        summary="Order movies for you",
        description="Orders the given movie_ids (1 to 500) for the caller, best first, with the model's scores (and "
        "the live version's ranker when it has one); ids the model cannot score come back in unranked. While no "
        "model serves, the order is popularity (fallback true). Recorded as an impression.\n\nErrors: 400 for an "
        "empty or too long list or an id that is not a whole number; 401.",
        examples=[OpenApiExample("Three movies", value={"movie_ids": [1, 50, 181]}, request_only=True)],
        request=InputSerializer,
        responses={200: OutputSerializer, **errors(401)},
    )
    def post(self, request):
        serializer = RankApi.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        movie_ids = serializer.validated_data["movie_ids"]
        result = rank_for_user(user=request.user, movie_ids=movie_ids)
        impression_record(user=request.user, surface=Surface.API_RANK, recs=result)
        ranked = {item.movie.pk for item in result.items}
        data = RankApi.OutputSerializer(
            {**vars(result), "unranked": [m for m in dict.fromkeys(movie_ids) if m not in ranked]},
            context={"request": request},
        ).data
        return Response(data)


class UserRecommendationsApi(Api):
    permission_classes = [IsStaffOrService]

    class FilterSerializer(serializers.Serializer):
        k = k_query_field()

    query_parameters = [FilterSerializer]
    OutputSerializer = RecommendationsSerializer

    @extend_schema(
        summary="Recommendations for a MovieLens user (staff or service)",
        description="The top k (default 10, at most 100) recommendations of the user with this MovieLens id, as that "
        "user gets them unfiltered; not recorded as an impression.\n\nErrors: 400 for a bad k; 401; 403 unless the "
        "caller is staff or the service account; 404 when no user has this MovieLens id.",
        tags=["serving"],
        parameters=query_parameters,
        responses={200: RecommendationsSerializer, **errors(401, 403, 404)},
    )
    def get(self, request, movielens_id: int):
        filters = UserRecommendationsApi.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        profile = Profile.objects.select_related("user").filter(movielens_id=movielens_id).first()
        if profile is None:
            raise NotFound(f"no user has MovieLens id {movielens_id}")
        result = recommend_for_user(user=profile.user, k=filters.validated_data["k"])
        return Response(RecommendationsSerializer(result, context={"request": request}).data)


class RecallApi(Api):
    permission_classes = [IsStaffOrService]

    class InputSerializer(serializers.Serializer):
        top_k = StrictIntegerField(required=False, default=50, min_value=1, max_value=500)
        hist_item = serializers.ListField(
            child=serializers.ListField(
                child=StrictIntegerField(min_value=1, max_value=INT32_MAX), max_length=500, allow_empty=True
            ),
            min_length=1,
            max_length=100,
            help_text="One history (movie ids) per user.",
        )

    class OutputSerializer(serializers.Serializer):
        items = serializers.ListField(
            child=serializers.ListField(child=serializers.IntegerField()),
            help_text="For each history, top_k movie ids (best first), never one of its own.",
        )

    @extend_schema(
        summary="Candidate recall for raw histories (staff or service)",
        description="The seeds' interface: for each history in hist_item (movie ids; up to 100 histories of up to "
        "500 ids) the top_k (default 50, at most 500) movie ids nearest to the user vector the live model computes "
        "from it, best first, never one of the history's own.\n\nErrors: 400 for bad input; 401; 403 unless staff "
        "or service; 503 when no model serves or the vector store cannot be reached.",
        tags=["serving"],
        examples=[
            OpenApiExample("Two histories", value={"top_k": 3, "hist_item": [[1, 50, 181], [258]]}, request_only=True),
            OpenApiExample("Their candidates", value={"items": [[100, 174, 172], [286, 300, 313]]}, response_only=True),
        ],
        request=InputSerializer,
        responses={200: OutputSerializer, **errors(401, 403, 503)},
    )
    def post(self, request):
        serializer = RecallApi.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        items = candidates_recall(
            histories=serializer.validated_data["hist_item"], top_k=serializer.validated_data["top_k"]
        )
        return Response(RecallApi.OutputSerializer({"items": items}).data)

"""Recommendations: your own, personalised ranking of given movies, and (staff/service) any MovieLens user's
recommendations and raw candidate recall for histories (the seeds' interface)."""

from drf_spectacular.utils import extend_schema
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

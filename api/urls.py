"""URLs of the REST API (included under /api/ by recsite/urls.py), the OpenAPI schema and Swagger UI.

Ids in paths are 1-9 digits: a longer one cannot name a row, and is answered by the JSON 404 at the end.
"""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny

import core.urls  # noqa: F401 - registers the <id:...> path converter

from . import (
    auth,
    batch_jobs,
    experiments,
    hidden,
    impressions,
    model_versions,
    movies,
    ratings,
    recommendations,
    vectors,
)
from .base import Api, one_path


class NotFoundApi(Api):
    """Any other path under /api/: a 404 in the API's error format (not the site's HTML page)."""

    permission_classes = [AllowAny]
    authentication_classes = []
    schema = None  # not part of the OpenAPI schema
    query_parameters = None  # a 404 whatever the query string

    def not_found(self, request, *args, **kwargs):
        raise NotFound(f"no API endpoint at {request.path}")

    get = post = put = patch = delete = not_found


urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("auth/token/", one_path(auth.TokenObtainApi, auth.TokenRevokeApi).as_view(), name="api-token"),
    path("movies/", movies.MovieListApi.as_view(), name="api-movie-list"),
    path("movies/<id:movie_id>/", movies.MovieDetailApi.as_view(), name="api-movie-detail"),
    path("movies/<id:movie_id>/similar/", movies.MovieSimilarApi.as_view(), name="api-movie-similar"),
    path("me/ratings/", ratings.RatingListApi.as_view(), name="api-rating-list"),
    path(
        "me/ratings/<id:movie_id>/",
        one_path(ratings.RatingPutApi, ratings.RatingDeleteApi).as_view(),
        name="api-rating",
    ),
    path(
        "me/hidden/",
        one_path(hidden.HiddenMovieListApi, hidden.HiddenMovieCreateApi).as_view(),
        name="api-hidden-list",
    ),
    path("me/hidden/<id:movie_id>/", hidden.HiddenMovieDeleteApi.as_view(), name="api-hidden"),
    path("me/recommendations/", recommendations.MyRecommendationsApi.as_view(), name="api-my-recommendations"),
    path("rank/", recommendations.RankApi.as_view(), name="api-rank"),
    path(
        "users/<id:movielens_id>/recommendations/",
        recommendations.UserRecommendationsApi.as_view(),
        name="api-user-recommendations",
    ),
    path("recall/", recommendations.RecallApi.as_view(), name="api-recall"),
    path(
        "impressions/<str:impression_id>/clicks/",  # any segment: a malformed id is the view's 404
        impressions.ImpressionClickApi.as_view(),
        name="api-impression-clicks",
    ),
    path("batch-jobs/", batch_jobs.BatchJobCreateApi.as_view(), name="api-batch-job-create"),
    path("batch-jobs/<id:job_id>/", batch_jobs.BatchJobDetailApi.as_view(), name="api-batch-job-detail"),
    path("batch-jobs/<id:job_id>/result/", batch_jobs.BatchJobResultApi.as_view(), name="api-batch-job-result"),
    path("models/", model_versions.ModelVersionListApi.as_view(), name="api-model-list"),
    path("models/train/", model_versions.ModelVersionTrainApi.as_view(), name="api-model-train"),
    path("models/<id:number>/", model_versions.ModelVersionDetailApi.as_view(), name="api-model-detail"),
    path(
        "models/<id:number>/activate/",
        model_versions.ModelVersionActivateApi.as_view(),
        name="api-model-activate",
    ),
    path(
        "experiments/",
        one_path(experiments.ExperimentListApi, experiments.ExperimentStartApi).as_view(),
        name="api-experiments",
    ),
    path("experiments/<id:experiment_id>/", experiments.ExperimentDetailApi.as_view(), name="api-experiment"),
    path("experiments/<id:experiment_id>/stop/", experiments.ExperimentStopApi.as_view(), name="api-experiment-stop"),
    path(
        "experiments/<id:experiment_id>/promote/",
        experiments.ExperimentPromoteApi.as_view(),
        name="api-experiment-promote",
    ),
    path("vectors/", one_path(vectors.VectorCountApi, vectors.VectorDropApi).as_view(), name="api-vectors"),
    path("vectors/sync/", vectors.VectorSyncApi.as_view(), name="api-vectors-sync"),
    re_path(r"^.*$", NotFoundApi.as_view()),
]

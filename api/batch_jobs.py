"""Batch recommendation jobs (staff or service): start one (queued), its status, its result file."""

from pathlib import Path

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from movies.selectors import movielens_ids_unknown
from recommender.models import BatchJob
from recommender.selectors import batch_job_get
from recommender.services.batch_jobs import batch_job_enqueue

from .base import Api, errors
from .exceptions import Conflict
from .fields import INT32_MAX, StrictIntegerField
from .permissions import IsStaffOrService

TAG = "jobs"  # the Swagger group of the operations here (ApiSchema.get_tags)
CONTENT_TYPES = {"jsonl": "application/x-ndjson", "csv": "text/csv"}


class BatchJobSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    k = serializers.IntegerField()
    format = serializers.CharField(source="file_format")
    users = serializers.ListField(child=serializers.IntegerField(), source="user_ids", help_text="Empty: all users.")
    model_number = serializers.IntegerField(allow_null=True)
    progress = serializers.DictField()
    error = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


def job_or_404(job_id: int) -> BatchJob:
    job = batch_job_get(job_id=job_id)
    if job is None:
        raise NotFound(f"batch job {job_id} does not exist")
    return job


class BatchJobCreateApi(Api):
    permission_classes = [IsStaffOrService]

    class InputSerializer(serializers.Serializer):
        users = serializers.ListField(
            child=StrictIntegerField(min_value=1, max_value=INT32_MAX),
            required=False,
            min_length=1,
            max_length=10000,
            help_text="MovieLens user ids (or send all=true).",
        )
        all = serializers.BooleanField(required=False, default=False, help_text="Every MovieLens user.")
        k = StrictIntegerField(required=False, default=50, min_value=1, max_value=100)
        format = serializers.ChoiceField(choices=list(CONTENT_TYPES), default="jsonl")

        def validate(self, attrs):
            if bool(attrs.get("users")) == attrs["all"]:
                raise serializers.ValidationError({"users": ["Send either a list of users or all=true."]})
            return attrs

        def validate_users(self, users):
            unknown = movielens_ids_unknown(users)
            if unknown:
                raise serializers.ValidationError(f"unknown MovieLens user ids: {unknown[:20]}")
            return users

    OutputSerializer = BatchJobSerializer

    @extend_schema(
        summary="Start a batch job: top-k files for some or all MovieLens users (queued)",
        description="Queues a job that writes the top k (default 50, at most 100) recommendations of the given "
        "MovieLens users, or of every user with all=true, to a jsonl or csv file; 202 with the job (status queued). "
        "Poll GET /api/batch-jobs/<id>/ until it is done, then fetch its result.\n\nErrors: 400 for both or neither "
        "of users and all, unknown user ids, or no active model version; 401; 403 unless staff or service; 503 when "
        "the job broker cannot be reached (the job is recorded as failed).",
        examples=[
            OpenApiExample("Three users, CSV", value={"users": [1, 2, 3], "k": 20, "format": "csv"}, request_only=True)
        ],
        request=InputSerializer,
        responses={202: BatchJobSerializer, **errors(401, 403, 503)},
    )
    def post(self, request):
        serializer = BatchJobCreateApi.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        params = serializer.validated_data
        job = batch_job_enqueue(
            created_by=request.user, k=params["k"], user_ids=params.get("users") or None, fmt=params["format"]
        )
        return Response(BatchJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class BatchJobDetailApi(Api):
    permission_classes = [IsStaffOrService]
    OutputSerializer = BatchJobSerializer

    @extend_schema(
        summary="A batch job's status",
        description="A job's status (queued, running, done, failed), parameters, progress, error and times.\n\n"
        "Errors: 401; 403 unless staff or service; 404 when no job has this id.",
        responses={200: BatchJobSerializer, **errors(401, 403, 404)},
    )
    def get(self, request, job_id: int):
        return Response(BatchJobSerializer(job_or_404(job_id)).data)


class BatchJobResultApi(Api):
    permission_classes = [IsStaffOrService]

    @extend_schema(
        summary="A finished batch job's file (JSON lines or CSV)",
        description="Downloads the file of a done job as an attachment, in the format it was started with.\n\n"
        "Errors: 401; 403 unless staff or service; 404 for an unknown job or a file no longer on disk; 409 while "
        "the job is not done.",
        responses={
            (200, CONTENT_TYPES["jsonl"]): OpenApiResponse(OpenApiTypes.STR, description='{"user_id", "items"}'),
            (200, CONTENT_TYPES["csv"]): OpenApiResponse(OpenApiTypes.STR, description="user_id,rank,movie_id"),
            **errors(401, 403, 404, 409),
        },
    )
    def get(self, request, job_id: int):
        job = job_or_404(job_id)
        if job.status != BatchJob.Status.DONE:
            raise Conflict(f"batch job {job_id} is {job.status}, not done")
        path = Path(job.result_path)
        if not path.is_file():
            raise NotFound(f"the file of batch job {job_id} is gone")
        return FileResponse(
            path.open("rb"), as_attachment=True, filename=path.name, content_type=CONTENT_TYPES[job.file_format]
        )

"""Model versions (staff or service): list, detail with metrics beside baselines and the training curve,
start a training (queued for the training worker), activate a version (rollback or roll forward)."""

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from recommender.models import ModelVersion
from recommender.selectors import model_version_get, model_version_list
from recommender.services.training_jobs import model_version_activate_checked, model_version_train_enqueue

from .base import PAGE_PARAMETERS, Api, errors, page_of, paginated_response
from .online import OnlineFiguresField
from .permissions import IsStaffOrService

TAG = "models"  # the Swagger group of the operations here (ApiSchema.get_tags)


class ModelVersionSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    status = serializers.CharField(
        help_text=f"{', '.join(ModelVersion.RUNNING_STATUSES)}, active, inactive (complete, not serving: can be "
        "activated), failed, or retired (its Milvus collection was dropped after MILVUS_KEEP_COLLECTIONS newer "
        "ones: it cannot be activated again)."
    )
    gate_passed = serializers.BooleanField(allow_null=True)
    gate_reason = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    activated_at = serializers.DateTimeField(allow_null=True)


class ModelVersionDetailSerializer(ModelVersionSerializer):
    config = serializers.DictField(help_text="Training hyper-parameters (recommender/ml/config.py).")
    metrics = serializers.DictField(help_text='{"model": {...}, "baselines": {"MostPop": {...}, ...}, "split": {}}')
    curve = serializers.ListField(child=serializers.DictField(), help_text="One entry per epoch (loss, val metric).")
    progress = serializers.DictField()
    error = serializers.CharField(allow_blank=True)
    online = OnlineFiguresField(help_text="What users did after this version's lists were shown (issue #25).")


class ModelVersionListApi(Api):
    permission_classes = [IsStaffOrService]
    query_parameters = PAGE_PARAMETERS
    OutputSerializer = ModelVersionSerializer

    @extend_schema(
        summary="Model versions, newest first",
        description="Pages of model versions: status, quality-gate result and times.\n\nErrors: 401; 403 unless "
        "staff or service; 404 for a page past the last.",
        parameters=query_parameters,
        responses={200: page_of(ModelVersionSerializer, "ModelVersionPage"), **errors(401, 403, 404)},
    )
    def get(self, request):
        versions = model_version_list()
        return paginated_response(
            queryset=versions, serializer_class=ModelVersionSerializer, request=request, view=self
        )


class ModelVersionDetailApi(Api):
    permission_classes = [IsStaffOrService]
    OutputSerializer = ModelVersionDetailSerializer

    @extend_schema(
        summary="One model version: metrics with baselines, curve",
        description="One version with its training config, offline metrics beside the baselines', the per-epoch "
        "curve, progress while it trains, its error if it failed, and its online figures (what users did after its "
        "lists were shown).\n\nErrors: 401; 403 unless staff or service; 404 when no version has this number.",
        responses={200: ModelVersionDetailSerializer, **errors(401, 403, 404)},
    )
    def get(self, request, number: int):
        version = model_version_get(number=number)
        if version is None:
            raise NotFound(f"model version {number} does not exist")
        return Response(ModelVersionDetailSerializer(version).data)


class ModelVersionTrainApi(Api):
    permission_classes = [IsStaffOrService]

    class InputSerializer(serializers.Serializer):
        config = serializers.DictField(
            required=False, default=dict, help_text='Overrides of the training config, e.g. {"epochs": 5}.'
        )

    OutputSerializer = ModelVersionSerializer

    @extend_schema(
        summary="Start training a new model version (queued)",
        description="Creates a version (status queued) and sends it to the training worker; config overrides the "
        "training config. Follow it with GET /api/models/<number>/.\n\nErrors: 400 for a bad config (unknown key "
        "or value); 401; 403 unless staff or service; 409 while another version is queued or training; 503 when "
        "the broker cannot be reached (the version is recorded as failed).",
        examples=[OpenApiExample("Five epochs", value={"config": {"epochs": 5}}, request_only=True)],
        request=InputSerializer,
        responses={202: ModelVersionSerializer, **errors(401, 403, 409, 503)},
    )
    def post(self, request):
        serializer = ModelVersionTrainApi.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        version = model_version_train_enqueue(config=serializer.validated_data["config"] or None)
        return Response(ModelVersionSerializer(version).data, status=status.HTTP_202_ACCEPTED)


class ModelVersionActivateApi(Api):
    permission_classes = [IsStaffOrService]
    OutputSerializer = ModelVersionSerializer

    @extend_schema(
        summary="Make this version the live one",
        description="Rollback or roll forward: builds the version's Milvus collection if it is missing and switches "
        "serving to it; the previous live version becomes inactive, kept for rollback.\n\nErrors: 400 when it is "
        "already active, failed or retired; 401; 403 unless staff or service; 404 when no version has this number; "
        "409 while a training runs; 503 when the vector store cannot be reached.",
        request=None,
        responses={200: ModelVersionSerializer, **errors(401, 403, 404, 409, 503)},
    )
    def post(self, request, number: int):
        version = model_version_get(number=number)
        if version is None:
            raise NotFound(f"model version {number} does not exist")
        version = model_version_activate_checked(version=version)
        return Response(ModelVersionSerializer(version).data)

"""The live vector collection (staff or service): count, re-sync (queued), drop everything (confirmed)."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from recommender.selectors import model_version_active
from recommender.services.vector_jobs import vectors_sync_enqueue
from recommender.services.vectors import vectors_count, vectors_drop_all

from .base import Api, errors
from .permissions import IsStaffOrService

TAG = "vectors"  # the Swagger group of the operations here (ApiSchema.get_tags)
DROP_CONFIRMATION = "drop all vectors"


class VectorCountApi(Api):
    permission_classes = [IsStaffOrService]

    class OutputSerializer(serializers.Serializer):
        count = serializers.IntegerField(help_text="Vectors in the live collection (0 when none is live).")
        model_version = serializers.IntegerField(allow_null=True)

    @extend_schema(
        summary="Vectors in the live collection",
        description="How many movie vectors the live version's Milvus collection holds, and that version's number "
        "(0 and null when no version is live).\n\nErrors: 401; 403 unless staff or service; 503 when the vector "
        "store cannot be reached.",
        responses={200: OutputSerializer, **errors(401, 403, 503)},
    )
    def get(self, request):
        active = model_version_active()
        count = vectors_count() if active is not None else 0
        data = {"count": count, "model_version": active.number if active else None}
        return Response(VectorCountApi.OutputSerializer(data).data)


class VectorSyncApi(Api):
    permission_classes = [IsStaffOrService]

    class OutputSerializer(serializers.Serializer):
        queued = serializers.BooleanField()

    @extend_schema(
        summary="Re-write the live version's movie vectors (queued)",
        description="Queues an idempotent re-write of the live version's movie vectors into its collection; 202 "
        '{"queued": true}.\n\nErrors: 400 when no version is live; 401; 403 unless staff or service; 409 while a '
        "training runs; 503 when the broker cannot be reached.",
        request=None,
        responses={202: OutputSerializer, **errors(401, 403, 409, 503)},
    )
    def post(self, request):
        vectors_sync_enqueue()
        return Response(VectorSyncApi.OutputSerializer({"queued": True}).data, status=status.HTTP_202_ACCEPTED)


class VectorDropApi(Api):
    permission_classes = [IsStaffOrService]

    class InputSerializer(serializers.Serializer):
        confirm = serializers.ChoiceField(
            choices=[DROP_CONFIRMATION], error_messages={"required": f'Send confirm="{DROP_CONFIRMATION}".'}
        )

    query_parameters = [
        OpenApiParameter(
            "confirm",
            str,
            required=True,
            enum=[DROP_CONFIRMATION],
            description=f'Must be "{DROP_CONFIRMATION}" (a JSON body {{"confirm": ...}} is accepted too).',
        )
    ]

    @extend_schema(
        summary="Drop every vector collection (the site serves popularity until a version is activated)",
        description="Drops every collection and the serving alias; the live version becomes inactive and every "
        'list is popularity until a version is activated again. Destructive, so it needs confirm="drop all '
        'vectors" (query parameter or JSON body). 204, no body.\n\nErrors: 400 without that confirmation; 401; 403 '
        "unless staff or service; 503 when the vector store cannot be reached.\n\n"
        "Example: `DELETE /api/vectors/?confirm=drop%20all%20vectors`.",
        parameters=query_parameters,
        responses={204: None, **errors(401, 403, 503)},
    )
    def delete(self, request):
        body = request.data if isinstance(request.data, dict) else {}
        confirm = request.query_params.get("confirm", body.get("confirm"))
        serializer = VectorDropApi.InputSerializer(data={} if confirm is None else {"confirm": confirm})
        serializer.is_valid(raise_exception=True)
        vectors_drop_all()
        return Response(status=status.HTTP_204_NO_CONTENT)

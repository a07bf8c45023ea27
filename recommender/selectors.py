"""Reads on model versions and batch jobs."""

from django.db.models import QuerySet

from .models import BatchJob, ModelVersion


def model_version_active() -> ModelVersion | None:
    return ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).first()


def model_version_get(*, number: int) -> ModelVersion | None:
    return ModelVersion.objects.filter(number=number).first()


def model_version_list() -> QuerySet[ModelVersion]:
    return ModelVersion.objects.order_by("-number")


def model_version_running() -> ModelVersion | None:
    """The version whose pipeline is queued or in progress, if any (only one at a time)."""
    running = [ModelVersion.Status.QUEUED, ModelVersion.Status.TRAINING, ModelVersion.Status.EVALUATING]
    return ModelVersion.objects.filter(status__in=running + [ModelVersion.Status.INDEXING]).first()


def batch_job_get(*, job_id: int) -> BatchJob | None:
    return BatchJob.objects.filter(pk=job_id).first()

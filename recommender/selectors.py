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


def training_notice() -> dict | None:
    """What the site tells everyone while no model serves yet and one is being built; None otherwise.

    {"number", "stage", "epoch", "epochs", "percent" (refit only: its length is known), "eta_s", "elapsed_s"}
    """
    if model_version_active() is not None:
        return None
    version = model_version_running()
    if version is None:
        return None
    progress = version.progress or {}
    stage = progress.get("stage") or version.status
    epoch, epochs = progress.get("epoch"), progress.get("epochs")
    percent = round(100 * epoch / epochs) if stage == "refitting" and epoch and epochs else None
    return {"number": version.number, "stage": stage, "epoch": epoch, "epochs": epochs, "percent": percent,
            "eta_s": progress.get("eta_s"), "elapsed_s": progress.get("elapsed_s")}  # fmt: skip

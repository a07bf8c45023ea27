"""Reads on model versions and batch jobs."""

from django.core.cache import cache
from django.db.models import QuerySet

from .models import BatchJob, ModelVersion, Stage

NOTICE_CACHE_KEY, MISSING = "training-notice", object()


def model_version_active() -> ModelVersion | None:
    """The version that serves, if any."""
    return ModelVersion.objects.active().first()


def model_version_get(*, number: int) -> ModelVersion | None:
    return ModelVersion.objects.filter(number=number).first()


def model_version_list() -> QuerySet[ModelVersion]:
    return ModelVersion.objects.order_by("-number")


def model_version_running() -> ModelVersion | None:
    """The version whose pipeline is queued or in progress and so holds the training lock, if any (one at a time;
    the oldest, should a race ever leave two)."""
    return ModelVersion.objects.running().order_by("number").first()


def batch_job_get(*, job_id: int) -> BatchJob | None:
    return BatchJob.objects.filter(pk=job_id).first()


NOTICE_CACHE_SECONDS = 3  # the banner on every page costs one indexed query per process every few seconds


def training_notice() -> dict | None:
    """What the site tells everyone while no model serves yet and one is being built; None otherwise.

    {"number", "stage", "epoch", "epochs", "percent" (refit only: its length is known), "eta_s", "elapsed_s"};
    cached for a few seconds, so the banner is one query per process every NOTICE_CACHE_SECONDS, not per page.
    """
    notice = cache.get(NOTICE_CACHE_KEY, MISSING)
    if notice is MISSING:
        notice = _training_notice_read()
        cache.set(NOTICE_CACHE_KEY, notice, NOTICE_CACHE_SECONDS)
    return notice


def _training_notice_read() -> dict | None:
    relevant = [ModelVersion.Status.ACTIVE, *ModelVersion.RUNNING_STATUSES]
    rows = list(ModelVersion.objects.filter(status__in=relevant).values("number", "status", "progress"))
    if not rows or any(row["status"] == ModelVersion.Status.ACTIVE for row in rows):
        return None
    version = min(rows, key=lambda row: row["number"])
    progress = version["progress"] or {}
    stage = progress.get("stage") or version["status"]
    epoch, epochs = progress.get("epoch"), progress.get("epochs")
    percent = round(100 * epoch / epochs) if stage == Stage.REFITTING and epoch and epochs else None
    return {"number": version["number"], "stage": stage, "epoch": epoch, "epochs": epochs, "percent": percent,
            "eta_s": progress.get("eta_s"), "elapsed_s": progress.get("elapsed_s")}  # fmt: skip

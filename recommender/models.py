"""Model versions (one trained two-tower model each) and batch recommendation jobs."""

from datetime import datetime
from enum import StrEnum

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

ERROR_MAX_CHARS = 20000  # the error text a failed version or batch job keeps (its head: the exception comes first)


class Stage(StrEnum):
    """A version's ``progress["stage"]``: what its pipeline is doing (services/training.py, vectors.py). The one
    list of these words: the admin, ``train_model`` and the site's training notice (web/training_notice.py, whose
    sentences the page and static/js/site.js both show) read them from here. A version with no stage yet reads as
    its status, so the statuses below take the same words."""

    QUEUED = "queued"  # never written: a queued version's progress is {}
    TRAINING = "training"  # holdout epochs (status training)
    EVALUATING = "evaluating"  # beside the baselines, then the gate (status evaluating, as for the next two)
    RANKING = "ranking"  # the second stage
    REFITTING = "refitting"  # epochs on every rating
    INDEXING = "indexing"  # the movie vectors into Milvus (status indexing)
    DONE = "done"
    FAILED = "failed"


class ModelVersionQuerySet(models.QuerySet):
    """The query vocabulary for versions: ``ModelVersion.objects.running()``, ``ModelVersion.objects.active()``."""

    def running(self) -> "ModelVersionQuerySet":
        """Versions whose pipeline is queued or in progress: at most one, it holds the training lock."""
        return self.filter(status__in=self.model.RUNNING_STATUSES)

    def active(self) -> "ModelVersionQuerySet":
        """The version that serves (at most one: see the one_active_model_version constraint)."""
        return self.filter(status=self.model.Status.ACTIVE)


class ModelVersion(models.Model):
    class Status(models.TextChoices):
        QUEUED = Stage.QUEUED.value
        TRAINING = Stage.TRAINING.value
        EVALUATING = Stage.EVALUATING.value
        INDEXING = Stage.INDEXING.value
        ACTIVE = "active"
        INACTIVE = "inactive"  # complete, but not serving (gate refused it, or superseded and kept for rollback)
        FAILED = Stage.FAILED.value
        RETIRED = "retired"  # its vectors were dropped; cannot be activated again

    # A version in one of these holds the training lock (model_version_create refuses a second one).
    RUNNING_STATUSES = (Status.QUEUED, Status.TRAINING, Status.EVALUATING, Status.INDEXING)

    number = models.PositiveIntegerField(unique=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    config = models.JSONField(default=dict, blank=True)
    # {"model": {...}, "baselines": {"MostPop": {...}, ...}, "split": {...}}
    metrics = models.JSONField(default=dict, blank=True)
    # one dict per holdout-training round: {"epoch", "epochs", "loss", "val_ndcg@10", "seconds"}
    curve = models.JSONField(default=list, blank=True)
    # live progress (services/training.py, vectors.py): {} while queued, then {"stage": a Stage}; while training or
    # refitting also "epoch", "epochs", "loss", "seconds", "elapsed_s", "eta_s" (and "val_ndcg@10" while training);
    # while indexing also "movies"
    progress = models.JSONField(default=dict, blank=True)
    gate_passed = models.BooleanField(null=True, blank=True)
    gate_reason = models.TextField(blank=True)
    artifact_path = models.CharField(max_length=500, blank=True)
    collection_name = models.CharField(max_length=100, blank=True)
    error = models.TextField(blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # "<celery node name>:<pid>" of the process running the pipeline: how a restarted worker knows its dead jobs
    worker = models.CharField(max_length=200, blank=True)

    objects = ModelVersionQuerySet.as_manager()

    class Meta:
        ordering = ["-number"]
        constraints = [
            # Exactly one version serves at a time: a partial unique index on the "active" status.
            models.UniqueConstraint(fields=["status"], condition=Q(status="active"), name="one_active_model_version"),
        ]

    def __str__(self) -> str:
        return f"v{self.number} ({self.status})"

    @property
    def is_running(self) -> bool:
        return self.status in self.RUNNING_STATUSES

    @classmethod
    def failed_fields(cls, error: str, now: datetime | None = None) -> dict:
        """The fields that mark a version failed with its error (however it failed): for save() or update()."""
        finished = now or timezone.now()
        return {"status": cls.Status.FAILED, "error": error[:ERROR_MAX_CHARS], "finished_at": finished,
                "progress": {"stage": Stage.FAILED}}  # fmt: skip


class BatchJob(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)

    class Format(models.TextChoices):
        JSONL = "jsonl", "JSON lines"
        CSV = "csv", "CSV"

    k = models.PositiveSmallIntegerField(default=50)
    file_format = models.CharField(max_length=8, choices=Format.choices, default=Format.JSONL)
    user_ids = models.JSONField(default=list, blank=True, help_text="MovieLens user ids; empty means all users")
    model_number = models.PositiveIntegerField(null=True, blank=True)
    progress = models.JSONField(default=dict, blank=True)
    result_path = models.CharField(max_length=500, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"batch job {self.pk} ({self.status})"

    @classmethod
    def failed_fields(cls, error: str) -> dict:
        """The fields that mark a job failed with its error: for save() or update()."""
        return {"status": cls.Status.FAILED, "error": error[:ERROR_MAX_CHARS], "finished_at": timezone.now()}


from recommender.experiments.models import Experiment  # noqa: E402,F401 (issue #25, item 4)
from recommender.impressions.models import Impression, ImpressionClick, ImpressionItem  # noqa: E402,F401 (issue #25)

"""Batch recommendation jobs: record and queue one, run it on the worker (batch.py writes the file), fail it."""

from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.exceptions import ApplicationError, ServiceUnavailableError
from recommender.models import BatchJob, ModelVersion
from recommender.selectors import model_version_active
from recommender.vectorstore import VectorStoreError

from .batch import batch_recommend_write
from .enqueue import task_send_on_commit


def _job_not_queued(job: BatchJob, reason: str) -> None:
    """Fail a job whose message never reached the broker (only while still queued)."""
    BatchJob.objects.filter(pk=job.pk, status=BatchJob.Status.QUEUED).update(**BatchJob.failed_fields(reason))


def batch_job_enqueue(
    *, created_by=None, k: int = 50, user_ids: list[int] | None = None, fmt: str = "jsonl"
) -> BatchJob:
    """Record a batch job and queue it on commit; the worker writes the file under BATCH_DIR. If the broker cannot
    be reached the job is failed at once and ServiceUnavailableError says why."""
    if fmt not in BatchJob.Format.values:
        raise ApplicationError(f"unknown format {fmt!r}: use jsonl or csv", {"field": "format"})
    if not 1 <= k <= 1000:
        raise ApplicationError("k must be between 1 and 1000", {"field": "k"})
    if not ModelVersion.objects.active().exists():
        raise ApplicationError("no active model version: train one first")
    with transaction.atomic():
        job = BatchJob(created_by=created_by, k=k, user_ids=sorted(set(user_ids or [])), file_format=fmt)
        job.full_clean()
        job.save()
        sent = task_send_on_commit(
            task_name="batch_job_task",
            args=[job.pk],
            what=f"batch job {job.pk}",
            on_failure=lambda reason: _job_not_queued(job, reason),
        )
    if "error" in sent:
        raise ServiceUnavailableError(sent["error"], {"batch_job": job.pk})
    return job


def batch_job_path(job: BatchJob) -> Path:
    return Path(settings.BATCH_DIR) / f"batch-{job.pk}.{job.file_format}"


def batch_job_run(*, job: BatchJob) -> BatchJob:
    """Write the job's file, recording progress, the model number, the path and any error on the row."""
    active = model_version_active()
    job.status, job.error = BatchJob.Status.RUNNING, ""
    job.model_number = active.number if active else None
    job.save(update_fields=["status", "error", "model_number"])

    def on_progress(done: int, total: int) -> None:
        job.progress = {"done": done, "total": total}
        job.save(update_fields=["progress"])

    output = batch_job_path(job)
    try:
        users = batch_recommend_write(
            k=job.k, output=output, movielens_ids=job.user_ids or None, fmt=job.file_format, on_progress=on_progress
        )
    except VectorStoreError:
        job.status = BatchJob.Status.QUEUED  # transient: the task retries it
        job.save(update_fields=["status"])
        raise
    except Exception as exc:
        batch_job_fail(job=job, error=f"{type(exc).__name__}: {exc}")
        raise
    job.status, job.result_path, job.finished_at = BatchJob.Status.DONE, str(output), timezone.now()
    job.progress = {"done": users, "total": users}
    job.save(update_fields=["status", "result_path", "finished_at", "progress"])
    return job


def batch_job_fail(*, job: BatchJob, error: str) -> None:
    fields = BatchJob.failed_fields(error)
    for name, value in fields.items():
        setattr(job, name, value)
    job.save(update_fields=list(fields))

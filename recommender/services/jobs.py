"""Background jobs: enqueue-on-commit services, the one-training-at-a-time lock, dead-worker detection, batch jobs.

The lock is the database itself: a version in a running status (queued/training/evaluating/indexing) blocks
``model_version_create``. A worker that dies cannot release anything, so the lock is freed by declaring its
version dead: the pool parent reports a lost child (``worker_lost_record``), a restarted worker fails the
versions it owned (``versions_fail_for_worker``), and any version whose heartbeat went silent is failed by
``versions_stale_fail`` (run at each retrain click, at worker start and by celery beat). A failed version
never changes what serves: the alias moves only at activation, and is moved back here if it ever points at
a version that did not finish.

Enqueueing is atomic: a version or batch job is committed, then its message is sent (on commit). If the broker
does not take the message, the row is failed at once with the reason (so the lock is free again) and the caller
gets a ServiceUnavailableError; a message that got through after all finds its row no longer queued and stops.
"""

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, close_old_connections, connection, transaction
from django.utils import timezone

from recommender.models import BatchJob, ModelVersion
from recommender.vectorstore import VectorStoreError, get_vector_store
from recsite.exceptions import ApplicationError, ServiceUnavailableError

from .batch import batch_recommend_write
from .training import model_version_create, model_version_fail, model_version_pipeline_run
from .vectors import model_version_activate

log = logging.getLogger(__name__)
Status = ModelVersion.Status
RUNNING = [Status.QUEUED, Status.TRAINING, Status.EVALUATING, Status.INDEXING]
BATCH_FORMATS = ("jsonl", "csv")


# --- the training lock -------------------------------------------------------------------------------------


def training_running_get() -> ModelVersion | None:
    """The version whose pipeline holds the training lock, if any."""
    return ModelVersion.objects.filter(status__in=RUNNING).order_by("number").first()


def _training_refuse(action: str) -> None:
    running = training_running_get()
    if running is not None:
        raise ApplicationError(
            f"cannot {action} while model version {running.number} is {running.status}", {"number": running.number}
        )


def _alias_reconcile(version: ModelVersion) -> None:
    """If the alias points at this unfinished version (killed between switch and record), point it back."""
    active = ModelVersion.objects.filter(status=Status.ACTIVE).first()
    try:
        store = get_vector_store()
        if store.live_version() == version.number and active is not None:
            store.switch_alias(active.number)
            log.warning("alias pointed at failed version %s: switched back to %s", version.number, active.number)
    except VectorStoreError:
        log.exception("could not check the alias after failing version %s", version.number)


def _version_dead(version: ModelVersion, reason: str) -> None:
    model_version_fail(version=version, error=reason)
    _alias_reconcile(version)
    log.warning("model version %s marked failed: %s", version.number, reason)


def versions_stale_fail() -> list[int]:
    """Fail running versions whose heartbeat is older than JOBS_STALE_SECONDS (queued ones: JOBS_QUEUED_TIMEOUT)."""
    now = timezone.now()
    stale_before = now - timedelta(seconds=settings.JOBS_STALE_SECONDS)
    queued_before = now - timedelta(seconds=settings.JOBS_QUEUED_TIMEOUT_SECONDS)
    failed = []
    for version in ModelVersion.objects.filter(status__in=RUNNING):
        if version.status == Status.QUEUED:
            if version.created_at < queued_before:
                _version_dead(version, "no training worker picked this version up: is the training worker running?")
                failed.append(version.number)
            continue
        last_sign = version.heartbeat_at or version.started_at or version.created_at
        if last_sign < stale_before:
            _version_dead(
                version,
                f"the worker stopped reporting at {last_sign:%Y-%m-%d %H:%M:%S} UTC during {version.status} "
                f"(no heartbeat for {settings.JOBS_STALE_SECONDS:.0f} s): it was killed or lost",
            )
            failed.append(version.number)
    return failed


def versions_fail_for_worker(*, hostname: str) -> list[int]:
    """At worker start: versions that a previous process of this same worker node was running are dead."""
    failed = []
    for version in ModelVersion.objects.filter(status__in=RUNNING[1:], worker__startswith=f"{hostname}:"):
        _version_dead(version, f"worker {hostname} restarted while this version was {version.status}")
        failed.append(version.number)
    return failed


def worker_lost_record(*, version_id: int, error: str) -> None:
    """The pool parent saw the child running this version die (SIGKILL, OOM, hard time limit)."""
    version = ModelVersion.objects.filter(pk=version_id).first()
    if version is not None and version.is_running:
        _version_dead(version, error)


# --- sending task messages ------------------------------------------------------------------------------------


def _send(publish: Callable[[], object], what: str) -> str:
    """Send one task message (kombu retries a few times); "" once the broker took it, else why it did not."""
    from kombu.utils.url import maybe_sanitize_url

    try:
        publish()
    except Exception as exc:  # noqa: BLE001 - kombu's OperationalError, a socket or broker-library error: not sent
        broker = maybe_sanitize_url(settings.CELERY_BROKER_URL)  # no password in the message
        log.warning("%s: the broker %s did not take the message: %s", what, broker, exc)
        return (
            f"{what} was not queued: the job broker {broker} could not be reached ({type(exc).__name__}: {exc}). "
            "Is it running? Try again once it is."
        )
    return ""


def _sent_on_commit(publish: Callable[[], object], what: str, on_failure: Callable[[str], None]) -> dict:
    """Send the message once the current transaction commits; if it fails, on_failure(reason) runs at once.
    The returned dict gets the reason under "error" (when the caller runs outside an outer transaction, by the
    time its atomic block ends; inside one, at that transaction's commit)."""
    outcome: dict = {}

    def send() -> None:
        error = _send(publish, what)
        if error:
            on_failure(error)
            outcome["error"] = error

    transaction.on_commit(send)
    return outcome


def _version_not_queued(version: ModelVersion, reason: str) -> None:
    """Fail a version whose message never reached the broker (only while still queued): frees the lock."""
    now = timezone.now()
    ModelVersion.objects.filter(pk=version.pk, status=Status.QUEUED).update(
        status=Status.FAILED, error=reason[:20000], finished_at=now, heartbeat_at=now, progress={"stage": "failed"}
    )


# --- retraining ----------------------------------------------------------------------------------------------


def model_version_train_enqueue(*, config: dict | None = None) -> ModelVersion:
    """Create a queued version and send it to the training queue once the row is committed; if the broker cannot
    be reached the version is failed at once (lock freed) and ServiceUnavailableError says why."""
    from celery import uuid

    from recommender.tasks import model_version_pipeline

    versions_stale_fail()
    if config is None and settings.RETRAIN_CONFIG_FILE:
        config = {"config_file": settings.RETRAIN_CONFIG_FILE}
    try:
        with transaction.atomic():
            version = model_version_create(config=config)
            version.task_id = uuid()
            version.save(update_fields=["task_id"])
            sent = _sent_on_commit(
                lambda: model_version_pipeline.apply_async(args=[version.pk], task_id=version.task_id, retry=True),
                f"model version {version.number}",
                lambda reason: _version_not_queued(version, reason),
            )
    except IntegrityError as exc:  # two clicks at the same instant both took the next number: one wins
        raise ApplicationError("another training was started at the same moment") from exc
    except (ValueError, OSError) as exc:  # load_config: unknown key, bad value, unreadable file
        raise ApplicationError(f"bad training config: {exc}", {"field": "config"}) from exc
    if "error" in sent:
        raise ServiceUnavailableError(sent["error"], {"model_version": version.number})
    return version


def _claim(version_id: int, worker: str) -> ModelVersion | None:
    """Atomically move a queued version to training; None if it is gone or not queued (a redelivered message)."""
    now = timezone.now()
    claimed = ModelVersion.objects.filter(pk=version_id, status=Status.QUEUED).update(
        status=Status.TRAINING,
        started_at=now,
        heartbeat_at=now,
        worker=worker,
        progress={"stage": "training", "epoch": 0},
    )
    return ModelVersion.objects.get(pk=version_id) if claimed else None


@contextmanager
def _heartbeat(version_id: int) -> Iterator[None]:
    """Refresh heartbeat_at from a side thread, so long stages (evaluation, indexing) never look dead."""
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(settings.JOBS_HEARTBEAT_SECONDS):
                ModelVersion.objects.filter(pk=version_id, status__in=RUNNING).update(heartbeat_at=timezone.now())
        except Exception:  # noqa: BLE001 - a failed heartbeat must never break the training itself
            log.exception("heartbeat for version %s stopped", version_id)
        finally:
            connection.close()

    thread = threading.Thread(target=beat, name=f"heartbeat-v{version_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def model_version_pipeline_execute(*, version_id: int, worker: str) -> ModelVersion | None:
    """Worker side of a retrain: claim the queued version, run its pipeline under a heartbeat."""
    version = _claim(version_id, worker)
    if version is None:
        log.warning("model version id %s is not queued any more: nothing to do", version_id)
        return None
    with _heartbeat(version.pk):
        return model_version_pipeline_run(version=version)


def model_version_activate_checked(*, version: ModelVersion) -> ModelVersion:
    """Rollback / roll forward from the admin: refused while a training runs (it would race the alias)."""
    _training_refuse("activate a version")
    if version.status == Status.ACTIVE:
        raise ApplicationError(f"model version {version.number} is already active")
    return model_version_activate(version=version)


# --- vector sync -------------------------------------------------------------------------------------------


def vectors_sync_enqueue() -> None:
    """Queue a re-sync of the active version's movie vectors (idempotent upsert)."""
    from recommender.tasks import vectors_sync_task

    _training_refuse("re-sync vectors")
    if not ModelVersion.objects.filter(status=Status.ACTIVE).exists():
        raise ApplicationError("no active model version: train one first")
    sent = _sent_on_commit(lambda: vectors_sync_task.apply_async(retry=True), "the vector re-sync", lambda _: None)
    if "error" in sent:
        raise ServiceUnavailableError(sent["error"])


# --- batch recommendation jobs -----------------------------------------------------------------------------


def batch_job_enqueue(*, created_by=None, k: int = 50, user_ids: list[int] | None = None, fmt: str = "jsonl"):
    """Record a batch job and queue it on commit; the worker writes the file under BATCH_DIR. If the broker cannot
    be reached the job is failed at once and ServiceUnavailableError says why."""
    from recommender.tasks import batch_job_task

    if fmt not in BATCH_FORMATS:
        raise ApplicationError(f"unknown format {fmt!r}: use jsonl or csv", {"field": "format"})
    if not 1 <= k <= 1000:
        raise ApplicationError("k must be between 1 and 1000", {"field": "k"})
    if not ModelVersion.objects.filter(status=Status.ACTIVE).exists():
        raise ApplicationError("no active model version: train one first")
    with transaction.atomic():
        job = BatchJob(created_by=created_by, k=k, user_ids=sorted(set(user_ids or [])), file_format=fmt)
        job.full_clean()
        job.save()
        sent = _sent_on_commit(
            lambda: batch_job_task.apply_async(args=[job.pk], retry=True),
            f"batch job {job.pk}",
            lambda reason: BatchJob.objects.filter(pk=job.pk, status=BatchJob.Status.QUEUED).update(
                status=BatchJob.Status.FAILED, error=reason[:20000], finished_at=timezone.now()
            ),
        )
    if "error" in sent:
        raise ServiceUnavailableError(sent["error"], {"batch_job": job.pk})
    return job


def batch_job_path(job: BatchJob) -> Path:
    return Path(settings.BATCH_DIR) / f"batch-{job.pk}.{job.file_format}"


def batch_job_run(*, job: BatchJob) -> BatchJob:
    """Write the job's file, recording progress, the model number, the path and any error on the row."""
    active = ModelVersion.objects.filter(status=Status.ACTIVE).first()
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
    job.status, job.error, job.finished_at = BatchJob.Status.FAILED, error[:20000], timezone.now()
    job.save(update_fields=["status", "error", "finished_at"])


# --- schedules (celery beat) -------------------------------------------------------------------------------


def schedules_ensure() -> list[str]:
    """Create the stale-job check and, if RETRAIN_SCHEDULE is set, the scheduled retrain (never overwritten)."""
    from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

    close_old_connections()
    created = []
    every, _ = IntervalSchedule.objects.get_or_create(every=60, period=IntervalSchedule.SECONDS)
    _, new = PeriodicTask.objects.get_or_create(
        name="Fail stale trainings", defaults={"task": "recommender.tasks.versions_stale_task", "interval": every}
    )
    created += ["Fail stale trainings"] if new else []
    if settings.RETRAIN_SCHEDULE:
        fields = settings.RETRAIN_SCHEDULE.split()
        if len(fields) != 5:
            raise ApplicationError(f"RETRAIN_SCHEDULE must have 5 crontab fields, got {settings.RETRAIN_SCHEDULE!r}")
        minute, hour, day_of_month, month_of_year, day_of_week = fields
        crontab, _ = CrontabSchedule.objects.get_or_create(
            minute=minute,
            hour=hour,
            day_of_month=day_of_month,
            month_of_year=month_of_year,
            day_of_week=day_of_week,
            timezone=settings.TIME_ZONE,
        )
        _, new = PeriodicTask.objects.get_or_create(
            name="Scheduled retraining",
            defaults={"task": "recommender.tasks.model_version_train_scheduled", "crontab": crontab},
        )
        created += ["Scheduled retraining"] if new else []
    return created

"""Celery tasks: thin interfaces that take ids, re-read the row (return if it is gone) and call a service.

The tasks import the services; the services queue them by name through services/enqueue.py (never importing this
module at their top), so the two never import each other.

training_peer_join runs on the other machines of a training spread over several (TRAINING_NODES; deploy/README.md).

Paddle is imported here at module top on purpose: a lazy import inside a task made the worker die with
"FatalError: Termination signal" on SIGTERM and lose the task. The signal handlers at the bottom record a
dead pool child on its model version and fail the versions a restarted worker left behind.
"""

import logging
import logging.config
import os
import socket

import paddle  # at module top on purpose: see the module docstring
from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import after_setup_logger, task_failure, worker_process_init, worker_ready
from django.conf import settings
from django.db import InterfaceError, OperationalError
from kombu.exceptions import OperationalError as BrokerError

from core.exceptions import ApplicationError
from recommender.impressions.tasks import impressions_cleanup_task  # noqa: F401 (registered with the worker)
from recommender.ml import distributed
from recommender.models import BatchJob
from recommender.services import batch_jobs, training_jobs
from recommender.services.vectors import vectors_sync
from recommender.vectorstore import VectorStoreError

log = logging.getLogger(__name__)

# Worth another try with backoff: the vector store or a database/broker connection was briefly unavailable.
TRANSIENT = (VectorStoreError, OperationalError, InterfaceError, BrokerError, ConnectionError)
RETRY = {"autoretry_for": TRANSIENT, "retry_backoff": 5, "retry_backoff_max": 300, "retry_jitter": True}


@shared_task(bind=True, acks_late=True)
def model_version_pipeline(self, version_id: int) -> dict | None:
    """Train, evaluate, gate, index and activate one queued version (queue "training", one at a time).

    Not retried as a whole: a failure is recorded on the version (with its error text) and the live version
    keeps serving; a retrain is one click. Redelivered messages find the version no longer queued and stop.
    """
    worker = f"{self.request.hostname or socket.gethostname()}:{os.getpid()}"
    try:
        version = training_jobs.model_version_pipeline_execute(version_id=version_id, worker=worker)
    finally:  # a failed version's files and collection, and those of versions its activation retired
        _versions_clean()
    return None if version is None else {"number": version.number, "status": version.status}


def _versions_clean(*, files: bool = True) -> None:
    """Delete the files (unless ``files`` is False: a batch that failed versions deleted them already) and the
    Milvus collections of failed and retired versions."""
    try:
        if files:
            training_jobs.version_files_clean()
        training_jobs.version_collections_clean()
    except Exception:  # noqa: BLE001 - cleaning up must never change the outcome of the job itself
        log.exception("could not clean up the files of failed or retired model versions")


@shared_task(bind=True, acks_late=True)
def training_peer_join(self, run_dir: str, launch: str, nodes: int, master: str, nproc: int) -> bool:
    """This machine's share of a training spread over several machines (queue "training_peers", one worker with
    -c 1 on each other machine): the launcher on the shared run folder, meeting the training worker's at ``master``.

    Not retried: a failure is recorded in the run folder, where the training worker's launch sees it and fails the
    version; a late or redelivered invitation finds its launch over and returns False.
    """
    machine = self.request.hostname or socket.gethostname()
    return distributed.join(
        run_dir, launch, nodes, master, nproc, machine=machine, address=settings.TRAINING_NODE_ADDRESS
    )


@shared_task(bind=True, **RETRY, max_retries=5)
def vectors_sync_task(self) -> int:
    """Re-write the active version's movie vectors (idempotent upsert)."""
    try:
        return vectors_sync()
    except ApplicationError as exc:  # nothing active any more: not an error worth retrying
        log.warning("vector sync skipped: %s", exc)
        return 0


@shared_task(bind=True, **RETRY, max_retries=5)
def batch_job_task(self, job_id: int) -> str | None:
    """Write a batch job's recommendation file (JSONL or CSV)."""
    job = BatchJob.objects.filter(pk=job_id).first()
    if job is None or job.status in {BatchJob.Status.DONE, BatchJob.Status.FAILED}:
        return None
    try:
        return batch_jobs.batch_job_run(job=job).result_path
    except TRANSIENT as exc:
        if self.request.retries >= self.max_retries:
            batch_jobs.batch_job_fail(job=job, error=f"gave up after {self.request.retries} retries: {exc}")
        raise
    except SoftTimeLimitExceeded:
        batch_jobs.batch_job_fail(job=job, error="the batch job ran past the soft time limit")
        raise


@shared_task
def versions_stale_task() -> list[int]:
    """Periodic (celery beat): fail versions whose worker went silent, freeing the training lock."""
    failed = training_jobs.versions_stale_fail()
    _versions_clean(files=not failed)  # versions_stale_fail deleted them if it failed any
    return failed


@shared_task
def model_version_train_scheduled() -> int | None:
    """Periodic (celery beat, off unless scheduled): start a retrain unless one is running."""
    try:
        return training_jobs.model_version_train_enqueue().number
    except ApplicationError as exc:
        log.info("scheduled retrain skipped: %s", exc)
        return None


@shared_task
def ping(value: int) -> int:
    """A trivial round trip for health checks and the queue-latency benchmark."""
    return value


@after_setup_logger.connect
def _logging_as_configured(loglevel=None, **kwargs) -> None:
    """A worker logs through the settings' LOGGING (LOG_FORMAT=json included), as the site does. Celery's set-up
    (kept: its redirect of print output, its task loggers) replaced the root's handler with its own format and
    lowered the root to the worker's -l level, hiding the pipeline's INFO lines (training started, epochs, "model
    vN is live") under serve_all's `-l warning`: the settings' handler and level again, and Celery's own loggers at
    the -l level (its per-task INFO lines stay off the console). Connected here, not in recsite/celery.py, but in
    time: a worker imports its tasks before it sets up logging."""
    logging.config.dictConfig(settings.LOGGING)
    logging.getLogger("celery").setLevel(loglevel or logging.WARNING)


@worker_process_init.connect
def _paddle_dynamic_mode(**kwargs) -> None:
    """Paddle keeps its mode in a thread-local: a pool child that billiard forks from its supervisor thread (every
    replacement of a dead or recycled child) starts in *static* graph mode and training fails with "float(Tensor)
    is not supported in static graph mode". Put each new child back in dynamic mode."""
    paddle.disable_static()


@task_failure.connect(sender=model_version_pipeline)
def _pipeline_failure(sender=None, task_id=None, exception=None, args=None, **kwargs) -> None:
    """Runs in the pool parent when the child died (SIGKILL, OOM, hard time limit): the pipeline could not
    record its own failure, so record it here. Failures raised inside the pipeline are already recorded."""
    if not args:
        return
    try:
        training_jobs.worker_lost_record(version_id=int(args[0]), error=f"{type(exception).__name__}: {exception}")
    except Exception:  # noqa: BLE001 - a signal handler must not take the worker down
        log.exception("could not record the failure of task %s", task_id)


@worker_ready.connect
def _worker_ready(sender=None, **kwargs) -> None:
    """A (re)started worker: fail the versions its previous process was running, then any stale ones."""
    hostname = getattr(sender, "hostname", "") or ""
    try:
        failed = training_jobs.versions_fail_for_worker(hostname=hostname)
        failed += training_jobs.versions_stale_fail()
        _versions_clean(files=not failed)  # the calls above deleted them if they failed any
    except Exception:  # noqa: BLE001 - e.g. the database is not migrated yet; the beat check covers it later
        log.exception("start-up check of stale model versions failed")
    finally:
        from django.db import connections

        connections.close_all()

"""Training as a background job: the one-training-at-a-time lock, dead-worker detection, retrain, activation guard.

The lock is the database itself: a version in a running status (ModelVersion.RUNNING_STATUSES) blocks
``model_version_create``. A worker that dies cannot release anything, so the lock is freed by declaring its
version dead: the pool parent reports a lost child (``worker_lost_record``), a restarted worker fails the
versions it owned (``versions_fail_for_worker``), and any version whose heartbeat went silent is failed by
``versions_stale_fail`` (run at each retrain click, at worker start and by celery beat). A failed version
never changes what serves: the alias moves only at activation, and is moved back here if it ever points at
a version that did not finish.

A retrain is enqueued atomically (enqueue.py): the version is committed, then its message is sent. If the broker
does not take it, the version is failed at once with the reason (so the lock is free again) and the caller gets a
ServiceUnavailableError; a message that got through after all finds its version no longer queued and stops.

A graceful stop of serve_all (SIGTERM, Ctrl-C) fails the version its training worker was running, with the reason
(``versions_fail_on_stop``), not resumed at the next start: the trainer keeps a checkpoint, but the pipeline around
it (evaluation, ranker, refit, indexing) does not restart mid-way, and a run finished later on ratings that moved
on would gate a stale split; a retrain is one click, and the files of the failed version go (below).

Files (issue #24): a failed or retired version can never serve again, so its folder MODEL_DIR/vN (~9 MB at
MovieLens-1M scale) is deleted (``version_files_clean``), and, on the worker side, a failed version's Milvus
collection is dropped too (``version_collections_clean``; a retired one's is gone already). Only folders named
vN right under MODEL_DIR, never the active version's, a running one's, or an inactive one's (rollback needs it).
"""

import logging
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from core.exceptions import ApplicationError, ConflictError, ServiceUnavailableError
from recommender.models import ModelVersion, Stage
from recommender.selectors import model_version_active, model_version_running
from recommender.vectorstore import VectorStoreError, get_vector_store

from .enqueue import task_send_on_commit
from .training import model_version_create, model_version_fail, model_version_pipeline_run
from .vectors import model_version_activate

log = logging.getLogger(__name__)
Status = ModelVersion.Status


# --- the training lock -------------------------------------------------------------------------------------


def training_lock_check(*, action: str) -> None:
    """Refuse `action` ("activate a version") while a version's pipeline holds the training lock."""
    running = model_version_running()
    if running is not None:
        raise ConflictError(
            f"cannot {action} while model version {running.number} is {running.status}", {"number": running.number}
        )


# --- dead workers ------------------------------------------------------------------------------------------


def _alias_reconcile(version: ModelVersion) -> None:
    """If the alias points at this unfinished version (killed between switch and record), point it back."""
    active = model_version_active()
    try:
        store = get_vector_store()
        if store.live_version() == version.number and active is not None:
            store.switch_alias(active.number)
            log.warning("alias pointed at failed version %s: switched back to %s", version.number, active.number)
    except VectorStoreError:
        log.exception("could not check the alias after failing version %s", version.number)


def _version_dead(version: ModelVersion, reason: str, *, clean: bool = True) -> None:
    """Fail a version whose worker is gone; ``clean``: delete the files of dead versions now (a batch cleans once,
    at its end)."""
    model_version_fail(version=version, error=reason)
    _alias_reconcile(version)
    log.warning("model version %s marked failed: %s", version.number, reason)
    if clean:
        version_files_clean()


def _versions_dead(dead: list[tuple[ModelVersion, str]]) -> list[int]:
    """Fail each (version, reason), then delete the files of dead versions once; the numbers failed."""
    for version, reason in dead:
        _version_dead(version, reason, clean=False)
    if dead:
        version_files_clean()
    return [version.number for version, _ in dead]


def versions_stale_fail() -> list[int]:
    """Fail running versions whose heartbeat is older than JOBS_STALE_SECONDS (queued ones: JOBS_QUEUED_TIMEOUT)."""
    now = timezone.now()
    stale_before = now - timedelta(seconds=settings.JOBS_STALE_SECONDS)
    queued_before = now - timedelta(seconds=settings.JOBS_QUEUED_TIMEOUT_SECONDS)
    dead = []
    for version in ModelVersion.objects.running():
        if version.status == Status.QUEUED:
            if version.created_at < queued_before:
                dead.append((version, "no training worker picked this version up: is the training worker running?"))
            continue
        last_sign = version.heartbeat_at or version.started_at or version.created_at
        if last_sign < stale_before:
            dead.append(
                (
                    version,
                    f"the worker stopped reporting at {last_sign:%Y-%m-%d %H:%M:%S} UTC during {version.status} "
                    f"(no heartbeat for {settings.JOBS_STALE_SECONDS:.0f} s): it was killed or lost",
                )
            )
    return _versions_dead(dead)


def _claimed_by(hostname: str) -> list[ModelVersion]:
    """The running versions a process of this worker node claimed (a queued one has no worker yet)."""
    return list(ModelVersion.objects.running().exclude(status=Status.QUEUED).filter(worker__startswith=f"{hostname}:"))


def versions_fail_for_worker(*, hostname: str, reason: str = "") -> list[int]:
    """At worker start: versions that a previous process of this same worker node was running are dead.
    ``reason``: why (default: the worker restarted)."""
    return _versions_dead(
        [
            (version, reason or f"worker {hostname} restarted while this version was {version.status}")
            for version in _claimed_by(hostname)
        ]
    )


def versions_fail_on_stop(*, hostname: str, how: str) -> list[int]:
    """serve_all stopped (``how``: "SIGTERM") and its training worker with it: the versions that worker was
    running are failed now, with the reason, not left "training" until the next start (see the module doc)."""
    claimed = _claimed_by(hostname)
    reason = (
        f"stopped by {how}: serve_all was stopped while this version was "
        f"{' / '.join(sorted({version.status for version in claimed})) or 'running'}; not resumed, "
        "retrain to try again"
    )
    return _versions_dead([(version, reason) for version in claimed])


# --- files and collections of versions that can never serve again ---------------------------------------------


def _version_folder(number: int) -> Path | None:
    """MODEL_DIR/v<number> when it is a real folder right under MODEL_DIR (no link out of it), else None."""
    root = Path(settings.MODEL_DIR).resolve()
    folder = root / f"v{int(number)}"
    if folder.is_symlink() or not folder.is_dir() or folder.resolve().parent != root:
        return None
    return folder


def version_files_clean() -> list[int]:
    """Delete the folders of failed and retired versions; the numbers whose folder went. Never the active
    version's, a running one's, or one an active or running version's artifact lies in."""
    gone = ModelVersion.objects.filter(status__in=[Status.FAILED, Status.RETIRED]).values_list("number", flat=True)
    in_use = ModelVersion.objects.exclude(status__in=[Status.FAILED, Status.RETIRED])
    protected = {
        Path(p).resolve().parent for p in in_use.exclude(artifact_path="").values_list("artifact_path", flat=True)
    }
    removed = []
    for number in sorted(gone):
        folder = _version_folder(number)
        if folder is None or folder.resolve() in protected:
            continue
        try:
            shutil.rmtree(folder)
        except OSError as exc:  # a file still open elsewhere, a permission: tried again at the next clean
            log.warning("model version %s: could not delete %s: %s", number, folder, exc)
            continue
        removed.append(number)
        log.info("model version %s: deleted its files %s", number, folder)
    return removed


def version_collections_clean() -> list[int]:
    """Worker side: drop the Milvus collections failed versions left (a pipeline killed while indexing), never
    the live one; the numbers dropped. A Milvus that does not answer leaves them for the next clean."""
    failed = set(ModelVersion.objects.filter(status=Status.FAILED).values_list("number", flat=True))
    dropped = []
    try:
        store = get_vector_store()
        live = store.live_version()
        for number in sorted(failed & set(store.list_versions()) - {live}):
            store.drop_collection(number)
            dropped.append(number)
    except VectorStoreError as exc:
        log.warning("could not drop the collections of failed versions: %s", exc)
    if dropped:
        ModelVersion.objects.filter(number__in=dropped).update(collection_name="")
        log.info("dropped the Milvus collections of failed versions %s", dropped)
    return dropped


def worker_lost_record(*, version_id: int, error: str) -> None:
    """The pool parent saw the child running this version die (SIGKILL, OOM, hard time limit)."""
    version = ModelVersion.objects.filter(pk=version_id).first()
    if version is not None and version.is_running:
        _version_dead(version, error)


# --- retraining ----------------------------------------------------------------------------------------------


def _version_not_queued(version: ModelVersion, reason: str) -> None:
    """Fail a version whose message never reached the broker (only while still queued): frees the lock."""
    now = timezone.now()
    ModelVersion.objects.filter(pk=version.pk, status=Status.QUEUED).update(
        **ModelVersion.failed_fields(reason, now), heartbeat_at=now
    )


def model_version_train_enqueue(*, config: dict | None = None) -> ModelVersion:
    """Create a queued version and send it to the training queue once the row is committed; if the broker cannot
    be reached the version is failed at once (lock freed) and ServiceUnavailableError says why."""
    from celery import uuid

    versions_stale_fail()
    if config is None and settings.RETRAIN_CONFIG_FILE:
        config = {"config_file": settings.RETRAIN_CONFIG_FILE}
    try:
        with transaction.atomic():
            version = model_version_create(config=config)
            version.task_id = uuid()
            version.save(update_fields=["task_id"])
            sent = task_send_on_commit(
                task_name="model_version_pipeline",
                args=[version.pk],
                task_id=version.task_id,
                what=f"model version {version.number}",
                on_failure=lambda reason: _version_not_queued(version, reason),
            )
    except IntegrityError as exc:  # two clicks at the same instant both took the next number: one wins
        raise ConflictError("another training was started at the same moment") from exc
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
        progress={"stage": Stage.TRAINING, "epoch": 0},
    )
    return ModelVersion.objects.get(pk=version_id) if claimed else None


@contextmanager
def _heartbeat(version_id: int) -> Iterator[None]:
    """Refresh heartbeat_at from a side thread, so long stages (evaluation, indexing) never look dead."""
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(settings.JOBS_HEARTBEAT_SECONDS):
                ModelVersion.objects.running().filter(pk=version_id).update(heartbeat_at=timezone.now())
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


# --- activation guard ----------------------------------------------------------------------------------------


def model_version_activate_checked(*, version: ModelVersion) -> ModelVersion:
    """Rollback / roll forward from the admin: refused while a training runs (it would race the alias)."""
    training_lock_check(action="activate a version")
    if version.status == Status.ACTIVE:
        raise ApplicationError(f"model version {version.number} is already active")
    activated = model_version_activate(version=version)
    version_files_clean()  # activation may have retired older versions
    return activated

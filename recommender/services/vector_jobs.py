"""The vector re-sync as a background job: refused while a training runs, queued once the request commits."""

from core.exceptions import ApplicationError, ServiceUnavailableError
from recommender.models import ModelVersion

from .enqueue import task_send_on_commit
from .training_jobs import training_lock_check


def vectors_sync_enqueue() -> None:
    """Queue a re-sync of the active version's movie vectors (vectors.vectors_sync: an idempotent upsert)."""
    training_lock_check(action="re-sync vectors")
    if not ModelVersion.objects.active().exists():
        raise ApplicationError("no active model version: train one first")
    sent = task_send_on_commit(task_name="vectors_sync_task", what="the vector re-sync", on_failure=lambda _: None)
    if "error" in sent:
        raise ServiceUnavailableError(sent["error"])

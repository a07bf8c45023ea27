"""Start, stop and promote experiments (which version serves a user while one runs: assignment.py).

One experiment at a time (the experiment_one_running constraint backs the check). Refusals are core.exceptions':
ApplicationError (400, ``extra["fields"]`` naming the field), ConflictError (409, the current state) and
ServiceUnavailableError (503, Milvus does not answer).
Retraining during an experiment is allowed: a newly activated version becomes the control arm's, and the
candidate's Milvus collection is kept while the experiment runs (services/vectors.py collections_retire).
"""

import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.exceptions import ApplicationError, ConflictError, ServiceUnavailableError
from recommender.models import ModelVersion
from recommender.vectorstore import VectorStoreError, get_vector_store

from .assignment import running
from .models import Experiment

log = logging.getLogger(__name__)
Status = Experiment.Status


def experiment_running() -> Experiment | None:
    return Experiment.objects.running().select_related("control", "candidate").first()


def _field_error(field: str, message: str) -> ApplicationError:
    return ApplicationError(f"{field}: {message}", {"fields": {field: [message]}})


def _not_running(experiment: Experiment) -> ConflictError:
    return ConflictError(
        f"experiment {experiment.pk} is {experiment.status}, not running", {"status": experiment.status}
    )


def experiment_start_check(*, candidate: int, share: float) -> tuple[ModelVersion, ModelVersion]:
    """(active version, candidate version) when an experiment of version ``candidate`` (a number) can start, else:
    ApplicationError (naming the field) for a share outside (0, 1) or a version that does not exist; ConflictError
    when an experiment runs, nothing is active, the candidate is the active version or not complete, or its Milvus
    collection is gone; ServiceUnavailableError when Milvus does not answer."""
    if not isinstance(share, int | float) or not 0 < share < 1:
        raise _field_error("share", f"must be a number strictly between 0 and 1, got {share!r}")
    version = ModelVersion.objects.filter(number=candidate).first()
    if version is None:
        raise _field_error("candidate", f"model version {candidate} does not exist")
    current = experiment_running()
    if current is not None:
        raise ConflictError(
            f"experiment {current.pk} (v{current.control.number} vs v{current.candidate.number}) is running: stop or "
            "promote it first (one experiment at a time)",
            extra={"experiment": current.pk},
        )
    active = ModelVersion.objects.active().first()
    if active is None:
        raise ConflictError("no model version is active: activate one first, it is the experiment's control")
    if version.pk == active.pk:
        message = f"model version {candidate} is the active version: choose another version as candidate"
        raise ConflictError(message, extra={"candidate": candidate})
    if version.status != ModelVersion.Status.INACTIVE:
        raise ConflictError(
            f"model version {candidate} is {version.status}: only a complete version (status inactive, with its "
            "vectors in Milvus) can be a candidate",
            extra={"candidate": candidate, "status": version.status},
        )
    try:
        in_store = version.number in get_vector_store().list_versions()
    except VectorStoreError as exc:
        raise ServiceUnavailableError(f"the vector store cannot be reached: {exc}") from exc
    if not in_store:
        raise ConflictError(
            f"model version {candidate} has no Milvus collection (dropped): it cannot serve, so it cannot be a "
            "candidate; train a new version",
            extra={"candidate": candidate},
        )
    return active, version


def experiment_start(*, candidate: int, share: float = 0.5, user=None) -> Experiment:
    """Start an A/B test of version ``candidate`` (a number) against the active version, ``share`` of users on it
    (the refusals of experiment_start_check)."""
    active, version = experiment_start_check(candidate=candidate, share=share)
    try:
        with transaction.atomic():
            experiment = Experiment.objects.create(
                control=active, candidate=version, share=float(share),
                started_by=user if getattr(user, "is_authenticated", False) else None,
            )  # fmt: skip
    except IntegrityError as exc:  # another start won the race
        raise ConflictError("another experiment was started at the same time: one experiment at a time") from exc
    running.changed()
    log.info("experiment %s started: v%s vs v%s, share %s", experiment.pk, active.number, version.number, share)
    return experiment


def _end(experiment: Experiment, status: str) -> Experiment:
    ended = Experiment.objects.filter(pk=experiment.pk, status=Status.RUNNING).update(
        status=status, ended_at=timezone.now()
    )
    running.changed()
    experiment.refresh_from_db()
    if not ended:
        raise _not_running(experiment)
    return experiment


def experiment_stop(*, experiment: Experiment) -> Experiment:
    """End the experiment; every user is served the live version again (within EXPERIMENT_CHECK_SECONDS)."""
    if not experiment.is_running:
        raise _not_running(experiment)
    experiment = _end(experiment, Status.STOPPED)
    log.info("experiment %s stopped", experiment.pk)
    return experiment


def experiment_promote(*, experiment: Experiment) -> Experiment:
    """Activate the candidate through the one activation path (model_version_activate_checked: refused while a
    training runs; the previous version is kept for rollback), then end the experiment as promoted."""
    from recommender.services.training_jobs import model_version_activate_checked

    if not experiment.is_running:
        raise _not_running(experiment)
    experiment.candidate.refresh_from_db()
    if experiment.candidate.status != ModelVersion.Status.ACTIVE:  # activated by hand meanwhile: just end it
        model_version_activate_checked(version=experiment.candidate)
    experiment = _end(experiment, Status.PROMOTED)
    log.info("experiment %s promoted: v%s is live", experiment.pk, experiment.candidate.number)
    return experiment

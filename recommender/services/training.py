"""The model-version pipeline: train -> evaluate beside baselines -> gate -> index in Milvus -> activate.

Every stage records itself on the ModelVersion row (status, progress, curve, metrics, error). A failure at
any point marks this version failed and leaves the live version serving: the alias is switched only after
the new collection is complete, and switched back if the database cannot record the activation.
"""

import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from recommender.ml.baselines import evaluate_baselines
from recommender.ml.config import load_config
from recommender.ml.evaluate import evaluate_model
from recommender.ml.plot import plot_training_curve
from recommender.ml.split import temporal_split
from recommender.ml.train import BEST_MODEL, train
from recommender.models import ModelVersion
from recsite.exceptions import ApplicationError

from .dataset import dataset_export
from .gate import gate_decide
from .vectors import model_version_activate, model_version_index

log = logging.getLogger(__name__)
Status = ModelVersion.Status
ProgressFn = Callable[[dict], None]


def _save(version: ModelVersion, **fields) -> None:
    for name, value in fields.items():
        setattr(version, name, value)
    version.heartbeat_at = timezone.now()
    version.save(update_fields=[*fields, "heartbeat_at"])


@transaction.atomic
def model_version_create(*, config: dict | None = None) -> ModelVersion:
    """A new queued version with the next number; refused while another version's pipeline runs."""
    busy = ModelVersion.objects.select_for_update().filter(
        status__in=[Status.QUEUED, Status.TRAINING, Status.EVALUATING, Status.INDEXING]
    )
    if busy.exists():
        running = busy.first()
        raise ApplicationError(
            f"model version {running.number} is already {running.status}", {"number": running.number}
        )
    config = config or {}
    # validate overrides (and the optional config file) now, not in the worker
    load_config(config.get("config_file"), **{k: v for k, v in config.items() if k != "config_file"})
    number = (ModelVersion.objects.aggregate(n=Max("number"))["n"] or 0) + 1
    return ModelVersion.objects.create(number=number, config=config)


def _train_stage(version: ModelVersion, on_progress: ProgressFn | None):
    dataset = dataset_export()
    if len(dataset.interactions) == 0:
        raise ApplicationError("there are no ratings to train on: import MovieLens first")
    split = temporal_split(dataset.interactions)
    config = load_config(
        version.config.get("config_file"), **{k: v for k, v in version.config.items() if k != "config_file"}
    )
    out_dir = Path(settings.MODEL_DIR) / f"v{version.number}"
    started = time.monotonic()

    def on_epoch(stats: dict) -> None:
        elapsed = time.monotonic() - started
        eta = elapsed / stats["epoch"] * (stats["epochs"] - stats["epoch"])
        progress = {"stage": "training", **stats, "elapsed_s": round(elapsed, 1), "eta_s": round(eta, 1)}
        _save(version, curve=[*version.curve, stats], progress=progress)
        if on_progress:
            on_progress(progress)

    _save(version, status=Status.TRAINING, started_at=timezone.now(), config={**version.config, **asdict(config)})
    result = train(dataset, split, config, out_dir, on_epoch=on_epoch)
    plot_training_curve(result.curve, out_dir / "curve.png", title=f"model v{version.number}")
    _save(version, artifact_path=str(out_dir / BEST_MODEL))  # curve.png and the checkpoint sit beside it
    return dataset, split, result


def _evaluate_stage(version: ModelVersion, dataset, split, result, on_progress: ProgressFn | None) -> dict:
    _save(version, status=Status.EVALUATING, progress={"stage": "evaluating"})
    if on_progress:
        on_progress({"stage": "evaluating"})
    model_metrics = evaluate_model(result.model, dataset, split)
    baselines = evaluate_baselines(split, dataset.catalog)
    metrics = {
        "model": model_metrics,
        "baselines": baselines,
        "split": {"train": len(split.train), "test": len(split.test), "users": model_metrics.get("users", 0)},
        "best_epoch": result.best_epoch,
    }
    _save(version, metrics=metrics)
    return metrics


def model_version_pipeline_run(*, version: ModelVersion, on_progress: ProgressFn | None = None) -> ModelVersion:
    """Run every stage for a queued version; returns it active, inactive (gate refused) or failed."""
    try:
        dataset, split, result = _train_stage(version, on_progress)
        metrics = _evaluate_stage(version, dataset, split, result, on_progress)
        active = ModelVersion.objects.filter(status=Status.ACTIVE).first()
        passed, reason = gate_decide(candidate=metrics, active=active.metrics if active else None)
        _save(version, gate_passed=passed, gate_reason=reason)
        if not passed:
            _save(version, status=Status.INACTIVE, finished_at=timezone.now(), progress={"stage": "done"})
            return version
        model_version_index(version=version, model=result.model, catalog=dataset.catalog)
        model_version_activate(version=version)
        _save(version, finished_at=timezone.now(), progress={"stage": "done"})
    except Exception as exc:  # noqa: BLE001 - any failure must be recorded on the row, then re-raised
        log.exception("model version %s failed", version.number)
        model_version_fail(version=version, error=f"{type(exc).__name__}: {exc}\n\n{traceback.format_exc()}")
        raise
    return version


def model_version_fail(*, version: ModelVersion, error: str) -> None:
    """Mark a version failed with its error text; the live version is untouched."""
    version.refresh_from_db()
    if version.status == Status.ACTIVE:
        return
    _save(version, status=Status.FAILED, error=error[:20000], finished_at=timezone.now(), progress={"stage": "failed"})

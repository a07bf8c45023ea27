"""The model-version pipeline: train on the holdout split -> evaluate beside baselines -> gate -> the second stage
(a ranker over the holdout model's candidates, kept only when it beats their tower order) -> refit on every
rating -> index in Milvus -> activate.

The holdout model (fitted on each user's first 80%, early-stopped on the last 20%) is what is measured and gated;
the refit model (fitted on every rating for the same number of epochs) is what is indexed and served, so the
served model has seen every user's newest ratings.

Every stage records itself on the ModelVersion row (status, progress, curve, metrics, error). A failure at
any point marks this version failed and leaves the live version serving: the alias is switched only after
the new collection is complete, and switched back if the database cannot record the activation.

Processes and machines: unless a version's config (its overrides or its config file) sets trainer_processes itself,
the training and the refit run as TRAINING_PROCESSES processes on each of TRAINING_NODES machines (the settings; 1 x 1
trains inside the worker). With several machines this worker's launcher waits at TRAINING_MASTER and the other
machines are invited through the training_peers queue (recommender.tasks.training_peer_join; deploy/README.md). A
version that sets trainer_processes trains with that many processes on this machine only.
"""

import logging
import time
import tomllib
import traceback
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from core.exceptions import ApplicationError, ConflictError
from recommender.ml import distributed
from recommender.ml.baselines import evaluate_baselines
from recommender.ml.config import load_config
from recommender.ml.evaluate import evaluate_model
from recommender.ml.model import TwoTowerModel
from recommender.ml.neighbours import ItemNeighbours
from recommender.ml.ranker import fit_holdout_ranker
from recommender.ml.split import temporal_split
from recommender.ml.train import BEST_MODEL, HOLDOUT_MODEL, loss_name, refit_epochs, user_id_updates
from recommender.models import ModelVersion, Stage

from .dataset import dataset_export
from .enqueue import task_send_on_commit
from .gate import gate_decide
from .vectors import model_version_activate, model_version_index

log = logging.getLogger(__name__)
Status = ModelVersion.Status
ProgressFn = Callable[[dict], None]
PROGRESS_LOG_SECONDS = 5.0  # the console gets an epoch line at most this often (the first epoch's at once)


def _save(version: ModelVersion, **fields) -> None:
    for name, value in fields.items():
        setattr(version, name, value)
    version.heartbeat_at = timezone.now()
    version.save(update_fields=[*fields, "heartbeat_at"])


@transaction.atomic
def model_version_create(*, config: dict | None = None, config_file_anywhere: bool = False) -> ModelVersion:
    """A new queued version with the next number; refused while another version's pipeline runs.

    The config (overrides, and an optional "config_file") is validated here, not in the worker. A config_file named
    by staff (the API, RETRAIN_CONFIG_FILE) must be a small regular file inside TRAINING_CONFIG_DIR
    (config_files.py), recorded by its resolved path. config_file_anywhere=True is for `train_model --config`
    only: an operator at the server's shell, who can read that file anyway, may name any path.
    """
    from .config_files import training_config_file_read

    running = ModelVersion.objects.select_for_update().running().first()
    if running is not None:
        raise ConflictError(f"model version {running.number} is already {running.status}", {"number": running.number})
    config = dict(config or {})
    overrides = {k: v for k, v in config.items() if k != "config_file"}
    try:
        if config.get("config_file") is None or config_file_anywhere:
            load_config(config.get("config_file"), **overrides)
        else:
            config["config_file"], values = training_config_file_read(config["config_file"])
            load_config(None, **{**values, **{k: v for k, v in overrides.items() if v is not None}})
    except TypeError as exc:  # a value of the wrong type ("16" for a size) that load_config's checks trip on
        raise ApplicationError(f"bad training config: {exc}", {"field": "config"}) from exc
    number = (ModelVersion.objects.aggregate(n=Max("number"))["n"] or 0) + 1
    return ModelVersion.objects.create(number=number, config=config)


def _progress_reporter(version: ModelVersion, stage: Stage, on_progress: ProgressFn | None) -> ProgressFn:
    """on_epoch callback: the epoch row on the curve (holdout training only) and live progress with an ETA."""
    started = time.monotonic()
    logged_at: float | None = None  # when the last epoch line went to the console

    def on_epoch(stats: dict) -> None:
        nonlocal logged_at
        elapsed = time.monotonic() - started
        eta = elapsed / stats["epoch"] * (stats["epochs"] - stats["epoch"])
        progress = {"stage": stage, **stats, "elapsed_s": round(elapsed, 1), "eta_s": round(eta, 1)}
        fields = {"progress": progress}
        if stage == Stage.TRAINING:
            fields["curve"] = [*version.curve, stats]
        _save(version, **fields)
        if on_progress:
            on_progress(progress)
        if logged_at is None or elapsed - logged_at >= PROGRESS_LOG_SECONDS:
            logged_at = elapsed
            log.info("model v%s %s: %s", version.number, stage, _epoch_line(stats, eta))

    return on_epoch


def _epoch_line(stats: dict, eta: float) -> str:
    """The console line of an epoch: "epoch 3/10, loss 0.6931, NDCG@10 0.0312, about 2 min left"."""
    parts = [f"epoch {stats['epoch']:g}/{stats['epochs']:g}"]
    if stats.get("loss") is not None:
        parts.append(f"loss {stats['loss']:.4f}")
    if stats.get("val_ndcg@10") is not None:
        parts.append(f"NDCG@10 {stats['val_ndcg@10']:.4f}")
    parts.append(f"about {eta / 60:.0f} min left" if eta >= 90 else f"about {eta:.0f} s left")
    return ", ".join(parts)


def _sets_processes(version_config: dict) -> bool:
    """Whether a version's overrides or config file name trainer_processes (then it wins over the settings)."""
    if version_config.get("trainer_processes") is not None:
        return True
    path = version_config.get("config_file")
    if path is None:
        return False
    try:
        with open(path, "rb") as f:
            return "trainer_processes" in tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError):
        return False  # load_config reads it next and fails the version with the reason


def _peers_invite(run: Path, launch: str, nproc: int) -> None:
    """Ask the other TRAINING_NODES - 1 machines (their workers on the training_peers queue) to join a launch."""
    nodes, timeout = settings.TRAINING_NODES, settings.TRAINING_JOIN_TIMEOUT_SECONDS
    for _ in range(nodes - 1):
        sent = task_send_on_commit(
            task_name="training_peer_join",
            args=[str(run), launch, nodes, settings.TRAINING_MASTER, nproc],
            what="the invitation of another training machine",
            on_failure=lambda reason: None,
            options={"expires": timeout},  # one no machine took in time is dropped: the launch failed by then
        )
        if "error" in sent:
            raise distributed.DistributedTrainingFailed(sent["error"])


def training_spread(version_config: dict) -> tuple[dict, distributed.Cluster | None, dict]:
    """(config overrides, cluster or None, the facts recorded in metrics["training"]) for a version: the settings'
    TRAINING_NODES x TRAINING_PROCESSES processes, unless the version's config sets trainer_processes itself."""
    if _sets_processes(version_config):
        return {}, None, {"machines": 1, "processes_from": "the version's config"}
    nodes, per_node = settings.TRAINING_NODES, settings.TRAINING_PROCESSES
    facts = {"machines": nodes, "processes_per_machine": per_node, "processes_from": "settings"}
    if nodes == 1:
        return {"trainer_processes": per_node}, None, facts
    spread = distributed.Cluster(
        nodes=nodes,
        master=settings.TRAINING_MASTER,
        invite=_peers_invite,
        address=settings.TRAINING_NODE_ADDRESS,
        join_timeout_s=settings.TRAINING_JOIN_TIMEOUT_SECONDS,
    )
    return {"trainer_processes": nodes * per_node}, spread, facts


def _train_stage(version: ModelVersion, on_progress: ProgressFn | None, processes: dict | None = None):
    dataset = dataset_export()
    if len(dataset.interactions) == 0:
        raise ApplicationError("there are no ratings to train on: import MovieLens first")
    split = temporal_split(dataset.interactions)
    overrides = {k: v for k, v in version.config.items() if k != "config_file"}
    config = load_config(version.config.get("config_file"), **{**overrides, **(processes or {})})
    out_dir = Path(settings.MODEL_DIR) / f"v{version.number}"
    _save(version, status=Status.TRAINING, started_at=timezone.now(), config={**version.config, **asdict(config)})
    log.info("model v%s: training started (%s ratings, %g epochs at most)", version.number,
             f"{len(dataset.interactions):,}", config.epochs)  # fmt: skip
    on_epoch = _progress_reporter(version, Stage.TRAINING, on_progress)
    result = distributed.train(dataset, split, config, out_dir, on_epoch=on_epoch)
    return dataset, split, config, result


def _active_rescored(dataset, split) -> tuple[dict | None, str]:
    """The active version's holdout model scored on *this* split (like with like), or None and why not."""
    active = ModelVersion.objects.active().first()
    if active is None:
        return None, "no active version"
    path = Path(active.artifact_path).parent / HOLDOUT_MODEL if active.artifact_path else None
    try:
        if path is None or not path.exists():
            raise FileNotFoundError("its holdout model is missing")
        metrics = evaluate_model(TwoTowerModel.load(path), dataset, split)
    except (ValueError, OSError) as exc:
        log.warning("active version %s cannot be re-scored: %s", active.number, exc)
        return None, f"active v{active.number} cannot be re-scored on this split ({exc})"
    return {"version": active.number, **metrics}, f"active v{active.number} re-scored on this split"


def _evaluate_stage(
    version: ModelVersion, dataset, split, config, result, facts: dict, on_progress: ProgressFn | None
) -> dict:
    _save(version, status=Status.EVALUATING, progress={"stage": Stage.EVALUATING})
    if on_progress:
        on_progress({"stage": Stage.EVALUATING})
    model_metrics = result.val_metrics
    active, active_note = _active_rescored(dataset, split)
    metrics = {
        "model": model_metrics,
        "baselines": evaluate_baselines(split, dataset.catalog),
        "active": active,
        "active_note": active_note,
        "split": {"train": len(split.train), "test": len(split.test), "users": model_metrics.get("users", 0)},
        "best_epoch": result.best_epoch,
        # how many processes (and machines) trained, with which loss (it follows the catalogue size) and how the
        # holdout model's user-id table was updated (it follows the users: config lazy_user_ids_from)
        "training": {
            "processes": config.trainer_processes,
            **facts,
            "loss": loss_name(len(dataset.catalog), config),
            "user_ids": user_id_updates(result.model),
        },  # fmt: skip
    }
    _save(version, metrics=metrics)
    return metrics


def _rank_stage(version: ModelVersion, dataset, split, config, result, on_progress: ProgressFn | None):
    """The second stage, fitted on the holdout model's candidates: (ranker, report) when kept, else None. Whether
    it beat the tower's own order (cross-fitted, the same users) is recorded in metrics["ranker"] either way."""
    if not config.ranker:
        return None
    _save(version, progress={"stage": Stage.RANKING})
    if on_progress:
        on_progress({"stage": Stage.RANKING})
    ranker, report = fit_holdout_ranker(
        result.model, dataset, split, max_users=config.ranker_users, seed=config.seed, threads=config.threads
    )
    _save(version, metrics={**version.metrics, "ranker": asdict(report)})  # its time: stage_seconds["ranking"]
    return (ranker, report) if report.keep else None


def _refit_stage(version: ModelVersion, dataset, config, result, kept, on_progress: ProgressFn | None) -> TwoTowerModel:
    """The served model: every rating, warm from the holdout weights for refit_epochs() epochs (from scratch for
    the best epoch count when refit_targets is 0; the holdout model itself when refit is off), with the co-rating
    neighbours of every movie and the kept ranker (``kept``, from _rank_stage) saved beside it."""
    out_dir = Path(settings.MODEL_DIR) / f"v{version.number}"
    if not config.refit:
        result.model.save(out_dir / BEST_MODEL)
        model = result.model
    else:
        on_epoch = _progress_reporter(version, Stage.REFITTING, on_progress)
        epochs = refit_epochs(config, len(dataset.interactions), result.best_epoch)
        start_from = result.model if config.refit_targets > 0 else None  # warm: the holdout weights
        model = distributed.refit(dataset, config, epochs, out_dir, start_from=start_from, on_epoch=on_epoch)
    neighbours = ItemNeighbours.fit(dataset.interactions, dataset.catalog)
    neighbours.save(out_dir / BEST_MODEL)  # for "similar movies" and the ranker's co-rating feature
    if kept is not None:  # the kept ranker; its features now read every rating, as the refit model does
        ranker, report = kept
        ranker.reading(dataset.catalog, dataset.interactions, neighbours).save(out_dir / BEST_MODEL, report)
    _save(version, artifact_path=str(out_dir / BEST_MODEL))  # holdout/ and the checkpoint sit beside it
    return model


def model_version_pipeline_run(*, version: ModelVersion, on_progress: ProgressFn | None = None) -> ModelVersion:
    """Run every stage for a queued version; returns it active, inactive (gate refused) or failed."""
    seconds: dict[str, float] = {}

    def timed(stage: Stage, fn, *args):
        """Run one stage and record its wall time in metrics["stage_seconds"] (where a pipeline's time goes)."""
        started = time.monotonic()
        out = fn(*args)
        seconds[stage] = round(time.monotonic() - started, 1)
        _save(version, metrics={**version.metrics, "stage_seconds": dict(seconds)})
        return out

    try:
        processes, spread, facts = training_spread(version.config)
        with distributed.cluster(spread):  # the training and the refit: on several machines when it is set
            dataset, split, config, result = timed(Stage.TRAINING, _train_stage, version, on_progress, processes)
            metrics = timed(
                Stage.EVALUATING, _evaluate_stage, version, dataset, split, config, result, facts, on_progress
            )
            passed, reason = gate_decide(
                candidate=metrics, active=metrics["active"], active_note=metrics["active_note"]
            )
            _save(version, gate_passed=passed, gate_reason=reason)
            kept = timed(Stage.RANKING, _rank_stage, version, dataset, split, config, result, on_progress)
            model = timed(Stage.REFITTING, _refit_stage, version, dataset, config, result, kept, on_progress)
        if not passed:
            _save(version, status=Status.INACTIVE, finished_at=timezone.now(), progress={"stage": Stage.DONE})
            log.info("model v%s trained, not activated: %s", version.number, reason)
            return version
        timed(Stage.INDEXING, lambda: model_version_index(version=version, model=model, catalog=dataset.catalog))
        model_version_activate(version=version)
        _save(version, finished_at=timezone.now(), progress={"stage": Stage.DONE})
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
    _save(version, **ModelVersion.failed_fields(error))

"""Builders of model-version rows as the training pipeline leaves them (metrics, curve, config), for the admin tests."""

from datetime import timedelta

from django.utils import timezone

from recommender.models import ModelVersion

KS = (10, 20, 50)
BASELINES = {"MostPop": 0.45, "ItemKNN": 0.8, "EASE": 0.9, "ALS": 0.7}  # share of the model's quality


def metric_block(quality: float, users: int = 610) -> dict:
    """The keys evaluate_scores returns (without the _pos4 twins): recall/ndcg/hit/precision@k with _se, coverage,
    mean_pop; values grow with ``quality``."""
    out: dict = {"users": users}
    for k in KS:
        for i, name in enumerate(("recall", "ndcg", "hit", "precision")):
            out[f"{name}@{k}"] = round(quality * (0.1 + 0.05 * i) * (1 + k / 50), 6)
            out[f"{name}@{k}_se"] = 0.004
        out[f"coverage@{k}"] = round(0.2 + quality / 4, 6)
        out[f"mean_pop@{k}"] = round(250 - 100 * quality, 3)
    return out


def pipeline_metrics(quality: float, active: ModelVersion | None = None) -> dict:
    """metrics as _evaluate_stage writes them; ``active`` re-scored on the same split at 95% of its own quality."""
    metrics = {
        "model": metric_block(quality),
        "baselines": {name: metric_block(quality * share) for name, share in BASELINES.items()},
        "active": None,
        "active_note": "no active version",
        "split": {"train": 80000, "test": 20000, "users": 610},
        "best_epoch": 7,
    }
    if active is not None:
        own = active.metrics["model"]["ndcg@10"] / metric_block(1.0)["ndcg@10"]
        metrics["active"] = {"version": active.number, **metric_block(own * 0.95)}
        metrics["active_note"] = f"active v{active.number} re-scored on this split"
    return metrics


def training_curve(epochs: int) -> list[dict]:
    return [
        {"epoch": e, "epochs": 30, "loss": round(6.0 - 0.3 * e, 3), "val_ndcg@10": round(0.1 + 0.01 * e, 4)}
        for e in range(1, epochs + 1)
    ]


def make_version(number: int, status: str = ModelVersion.Status.INACTIVE, quality: float = 1.0, **fields):
    """A complete version (metrics, 8-epoch curve, config, artifact) unless ``fields`` say otherwise."""
    active = ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).first()
    finished = timezone.now() - timedelta(days=10 - number)
    values = {
        "metrics": pipeline_metrics(quality, active),
        "curve": training_curve(8),
        "config": {"epochs": 30, "batch_size": 32, "learning_rate": 0.002, "title_encoder": "mean", "refit": True},
        "artifact_path": f"/srv/recsite/models/v{number}/model",
        "collection_name": f"movies_v{number}",
        "gate_passed": True,
        "gate_reason": "NDCG@10 beats every baseline beyond noise",
        "started_at": finished - timedelta(minutes=12),
        "finished_at": finished,
        **fields,
    }
    return ModelVersion.objects.create(number=number, status=status, **values)

"""What the model-version admin shows of a version's JSON fields: its status line, metric tables and config table.

Pure functions of a ModelVersion (no queries, no Paddle), shared by the admin pages and the progress JSON.
"""

import json

from recommender.models import ModelVersion

HEADLINE_METRICS = ("ndcg@10", "recall@10", "recall@50", "hit@10", "precision@10", "coverage@50", "mean_pop@10")
BASELINE_COLUMNS = ("ndcg@10", "recall@10", "recall@50", "hit@10", "coverage@50", "mean_pop@10")
# higher is not better for these, so "best baseline" means nothing: users is a count, mean_pop a popularity level
NO_BEST = ("users", "mean_pop@")
RAW_FIELDS = ("metrics", "config", "curve", "progress")


def status_label(version: ModelVersion, short: bool = False) -> str:
    """The status a person should read. A running version shows its stage and epoch: the refit runs while the
    status is still "evaluating", so the stage in ``progress`` is the truer word. ``short`` for the list column."""
    if not version.is_running:
        return version.status
    if version.status == ModelVersion.Status.QUEUED:
        queued = ModelVersion.Status.QUEUED.value
        return queued if short else f"{queued}, waiting for a training worker"
    progress = version.progress or {}
    stage = progress.get("stage") or version.status
    epoch, epochs = progress.get("epoch"), progress.get("epochs")
    if not (epoch and epochs):
        return stage
    return f"{stage} {epoch}/{epochs}" if short else f"{stage}, epoch {epoch} of {epochs}"


def metric_format(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.4f}"


def best_baseline(metrics: dict, key: str) -> tuple[str, float] | None:
    """(name, value) of the baseline with the highest ``key`` in the same evaluation run."""
    scored = [(name, m[key]) for name, m in (metrics.get("baselines") or {}).items() if m.get(key) is not None]
    return max(scored, key=lambda item: item[1]) if scored else None


def _metric_row(metrics: dict, key: str) -> dict:
    model, active = metrics["model"], metrics.get("active") or {}
    value, se = model.get(key), model.get(f"{key}_se")
    best = None if key.startswith(NO_BEST) else best_baseline(metrics, key)
    return {
        "name": key,
        "value": metric_format(value) + (f" ±\u00a0{se:.4f}" if se else ""),  # ± stays with its number
        "active": metric_format(active.get(key)),
        "baseline": f"{metric_format(best[1])} ({best[0]})" if best else "–",
        "beats_baseline": best is not None and value is not None and value > best[1],
    }


def metric_table(metrics: dict) -> dict | None:
    """The version's metrics as rows (name, value ± standard error, the active version's value on the same split,
    the best baseline): the headline metrics first, every other one in ``more``. None before evaluation."""
    model = metrics.get("model")
    if not model:
        return None
    headline = [key for key in HEADLINE_METRICS if key in model]
    others = [key for key in model if not key.endswith("_se") and key not in headline]
    active = metrics.get("active") or {}
    return {
        "active_header": f"active v{active['version']} (same split)" if active.get("version") else None,
        "rows": [_metric_row(metrics, key) for key in headline],
        "more": [_metric_row(metrics, key) for key in others],
        "note": metrics.get("active_note", ""),
    }


def baseline_rows(metrics: dict) -> list[dict]:
    """Every baseline of the run beside the model, on the BASELINE_COLUMNS: the gate's evidence."""
    if not metrics.get("model"):
        return []
    rows = [("two-tower (this version)", metrics["model"]), *(metrics.get("baselines") or {}).items()]
    return [{"name": name, "cells": [metric_format(m.get(key)) for key in BASELINE_COLUMNS]} for name, m in rows]


def ranker_summary(metrics: dict) -> str | None:
    """One sentence on the second stage: how it did against the tower's order on the same users, and whether the
    version serves it. None when it was not fitted (turned off, or before that stage)."""
    r = metrics.get("ranker")
    if not r:
        return None
    gain = r["ranked_ndcg10"] - r["tower_ndcg10"]
    verdict = "served" if r["keep"] else "not served (the tower's order is kept)"
    return (
        f"LambdaRank over each user's 200 tower candidates, cross-fitted on {r['users']:,} holdout users: NDCG@10 "
        f"{r['ranked_ndcg10']:.4f} against the tower's order {r['tower_ndcg10']:.4f} (gain {gain:+.4f}, standard "
        f"error {r['gain_se']:.4f}); Recall@50 {r['ranked_recall50']:.4f} against {r['tower_recall50']:.4f}: {verdict}."
    )


def config_rows(config: dict) -> list[tuple[str, str]]:
    """(setting, value) pairs by name (PostgreSQL's jsonb keeps no insertion order, so none is promised)."""
    return [(key, value if isinstance(value, str) else json.dumps(value)) for key, value in sorted(config.items())]


def raw_json(version: ModelVersion) -> list[tuple[str, str]]:
    """(field, indented JSON) of every JSON field, for the collapsed "raw JSON" section."""
    return [(name, json.dumps(getattr(version, name), indent=2, sort_keys=False)) for name in RAW_FIELDS]

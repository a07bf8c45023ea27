"""PNG charts for the staff pages (matplotlib, Agg backend): a version's training curve and the metric history."""

import io

import matplotlib

matplotlib.use("Agg")  # no display in a web or worker process

import matplotlib.pyplot as plt  # noqa: E402

from recommender.models import ModelVersion  # noqa: E402

VAL_KEY = "val_ndcg@10"
HISTORY_METRICS = ("ndcg@10", "recall@50")


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def _empty(message: str) -> bytes:
    fig, ax = plt.subplots(figsize=(6, 2))
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center", color="#666")
    return _png(fig)


def training_curve_png(version: ModelVersion) -> bytes:
    """Loss (left axis) and validation NDCG@10 (right axis) per epoch, from ModelVersion.curve."""
    curve = [row for row in version.curve if "epoch" in row]
    if not curve:
        return _empty(f"v{version.number}: no epoch finished yet")
    epochs = [row["epoch"] for row in curve]
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.plot(epochs, [row.get("loss") for row in curve], marker="o", color="tab:blue", label="training loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss", color="tab:blue")
    if any(VAL_KEY in row for row in curve):
        right = ax.twinx()
        right.plot(epochs, [row.get(VAL_KEY) for row in curve], marker="s", color="tab:orange", label=VAL_KEY)
        right.set_ylabel("validation NDCG@10", color="tab:orange")
    ax.set_title(f"model v{version.number}: training curve")
    ax.grid(alpha=0.3)
    return _png(fig)


def _best_baseline(metrics: dict, key: str) -> float | None:
    values = [m.get(key) for m in metrics.get("baselines", {}).values() if m.get(key) is not None]
    return max(values) if values else None


def metric_history_png(versions: list[ModelVersion]) -> bytes:
    """NDCG@10 and Recall@50 of every evaluated version, beside the best baseline of the same run (dashed)."""
    rows = sorted((v for v in versions if v.metrics.get("model")), key=lambda v: v.number)
    if not rows:
        return _empty("no evaluated model version yet")
    numbers = [v.number for v in rows]
    fig, axes = plt.subplots(1, len(HISTORY_METRICS), figsize=(10, 3.2))
    for ax, key in zip(axes, HISTORY_METRICS, strict=True):
        ax.plot(numbers, [v.metrics["model"].get(key) for v in rows], marker="o", label="two-tower")
        ax.plot(numbers, [_best_baseline(v.metrics, key) for v in rows], "--", marker="x", label="best baseline")
        active = [v for v in rows if v.status == ModelVersion.Status.ACTIVE]
        for v in active:
            ax.scatter([v.number], [v.metrics["model"].get(key)], s=160, facecolors="none", edgecolors="green")
        ax.set_title(key)
        ax.set_xlabel("model version")
        ax.set_xticks(numbers)
        ax.grid(alpha=0.3)
    axes[0].legend(loc="best", fontsize="small")
    return _png(fig)

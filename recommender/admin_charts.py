"""PNG charts for the staff pages (matplotlib, Agg backend): a version's training curve, the metric history and
a version's online figures per day."""

import io

import matplotlib

matplotlib.use("Agg")  # no display in a web or worker process

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from recommender.admin_display import best_baseline  # noqa: E402
from recommender.impressions.selectors import online_daily, version_impressions  # noqa: E402
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


def training_curve_figure(version: ModelVersion):
    """Loss (left axis) and validation NDCG@10 (right axis) per epoch, from ModelVersion.curve; None before the
    first epoch. The x axis ticks whole epochs only (2 epochs would otherwise read 1.00, 1.25, ... 2.00)."""
    curve = [row for row in version.curve if "epoch" in row]
    if not curve:
        return None
    epochs = [row["epoch"] for row in curve]
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.plot(epochs, [row.get("loss") for row in curve], marker="o", color="tab:blue", label="training loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss", color="tab:blue")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    lines, top = list(ax.get_lines()), ax
    if any(VAL_KEY in row for row in curve):
        right = top = ax.twinx()
        right.plot(epochs, [row.get(VAL_KEY) for row in curve], marker="s", color="tab:orange", label="validation")
        right.set_ylabel("validation NDCG@10", color="tab:orange")
        lines += right.get_lines()
    best = version.metrics.get("best_epoch")
    if best in epochs:  # the epoch whose weights were kept (early stopping)
        lines.append(ax.axvline(best, color="green", linestyle=":", label=f"best epoch ({best})"))
    top.legend(handles=lines, loc="center right", fontsize="small")  # on the top axes, so no line hides it
    ax.set_title(f"model v{version.number}: training curve")
    ax.grid(alpha=0.3)
    return fig


def training_curve_png(version: ModelVersion) -> bytes:
    fig = training_curve_figure(version)
    return _png(fig) if fig is not None else _empty(f"v{version.number}: no epoch finished yet")


def _best_baseline(metrics: dict, key: str) -> float | None:
    best = best_baseline(metrics, key)
    return best[1] if best else None


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


def online_daily_png(version: ModelVersion) -> bytes:
    """Impressions, users, ratings after shown and clicks per day (issue #25: the version page's "Online")."""
    days = online_daily(version_impressions(version))
    if not days:
        return _empty(f"model v{version.number}: no lists shown yet")
    x = [d["day"] for d in days]
    fig, ax = plt.subplots(figsize=(7, 3.2))
    for key, style in (("impressions", "o-"), ("users", "s-"), ("rated_after_shown", "^-"), ("clicks", "v-")):
        ax.plot(x, [d[key] for d in days], style, label=key.replace("_", " "))
    ax.set_title(f"model v{version.number}: online, per day")
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    return _png(fig)

"""Training-curve PNG (loss and validation NDCG@10 per epoch), drawn with matplotlib's Agg backend."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display on servers and workers
import matplotlib.pyplot as plt  # noqa: E402


def plot_training_curve(curve: list[dict], path: str | Path, *, title: str = "training curve") -> Path:
    """Two panels sharing the epoch axis: training loss, and validation NDCG@10 with the best epoch marked."""
    path = Path(path)
    epochs = [row["epoch"] for row in curve]
    fig, (ax_loss, ax_ndcg) = plt.subplots(1, 2, figsize=(9, 3.5))
    ax_loss.plot(epochs, [row["loss"] for row in curve], marker="o")
    ax_loss.set(xlabel="epoch", ylabel="training loss", title="loss")
    ndcg = [row["val_ndcg@10"] for row in curve]
    ax_ndcg.plot(epochs, ndcg, marker="o", color="tab:green")
    if ndcg:
        best = max(range(len(ndcg)), key=ndcg.__getitem__)
        ax_ndcg.axvline(epochs[best], color="grey", linestyle="--", label=f"best epoch {epochs[best]}")
        ax_ndcg.legend()
    ax_ndcg.set(xlabel="epoch", ylabel="NDCG@10", title="validation NDCG@10")
    fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path

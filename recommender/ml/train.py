"""The trainer: in-batch softmax (or the MSE ablation), early stopping on validation NDCG@10, NaN guard, resume."""

from __future__ import annotations

import ctypes
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import paddle
import paddle.nn.functional as F

from recommender.ml.config import TrainConfig
from recommender.ml.data import Dataset, Interactions
from recommender.ml.encoder import FeatureEncoder
from recommender.ml.evaluate import catalog_index, evaluate_model
from recommender.ml.model import TwoTowerModel
from recommender.ml.split import Split, chronological_order, last_fraction_mask

CHECKPOINT = "checkpoint.pdparams"
BEST_MODEL = "model"


def keep_freed_memory() -> None:
    """Ask glibc to keep freed blocks instead of returning them to the OS: Paddle's CPU allocator frees every
    activation after use, and re-faulting fresh pages made large ops several times slower on this machine."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc: nothing to tune
        return
    m_trim_threshold, m_top_pad, m_mmap_threshold = -1, -2, -3
    libc.mallopt(m_mmap_threshold, 32 << 20)  # the largest value glibc accepts
    libc.mallopt(m_trim_threshold, (1 << 31) - 1)
    libc.mallopt(m_top_pad, 256 << 20)


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite."""


@dataclass
class TrainResult:
    model: TwoTowerModel
    curve: list[dict]  # one {"epoch", "epochs", "loss", "val_ndcg@10", "seconds"} per epoch
    best_epoch: int
    val_metrics: dict  # the best model on the validation split


def validation_split(train: Interactions) -> Split:
    """Each user's last train rating (users with >= 3) -> validation; the rest is what the model fits."""
    ordered = train.subset(chronological_order(train))
    is_val = last_fraction_mask(ordered.user_ids, fraction=0.0, min_ratings=3)
    return Split(train=ordered.subset(~is_val), test=ordered.subset(is_val))


class Examples:
    """One example per fitted rating: (user, target movie, the user's ratings before it in time, at most L)."""

    def __init__(self, dataset: Dataset, fit: Interactions, encoder: FeatureEncoder, config: TrainConfig):
        fit = fit.subset(chronological_order(fit))
        keep = catalog_index(dataset.catalog, fit.movie_ids) >= 0
        fit = fit.subset(keep)
        self.config, self.n = config, len(fit)
        users, self.user_row = np.unique(fit.user_ids, return_inverse=True)  # [U], [N]
        _, starts, counts = np.unique(fit.user_ids, return_index=True, return_counts=True)
        self.start = np.repeat(starts, counts)  # [N] first row of the example's user
        self.position = np.arange(self.n) - self.start  # [N] how many earlier ratings the user has
        self.history_movie = encoder.movie_index(fit.movie_ids)  # [N]
        self.weight = fit.scores / 5.0  # [N]
        self.rating = fit.scores
        self.movie_row = catalog_index(dataset.catalog, fit.movie_ids)  # [N]
        self.users = encoder.encode_users(dataset.users.select(users), [])  # static user features, empty histories
        self.movies = encoder.encode_movies(dataset.catalog)
        popularity = np.bincount(self.movie_row, minlength=len(dataset.catalog)) + 1.0
        self.log_q = np.log(popularity / popularity.sum()).astype(np.float32)  # [M] in-batch sampling log-probability

    def batch(self, rows: np.ndarray, rng: np.random.Generator) -> dict:
        """Numpy inputs for the examples ``rows`` [B]."""
        c, L = self.config, self.config.max_history
        offsets = self.position[rows, None] - L + np.arange(L)  # [B, L] history position, < 0 = padding
        valid = offsets >= 0
        idx = self.start[rows, None] + np.maximum(offsets, 0)  # [B, L]
        u, m = self.user_row[rows], self.movie_row[rows]
        user_index = np.where(rng.random(len(rows)) < c.user_id_dropout, 0, self.users.index[u])
        movie_index = np.where(rng.random(len(rows)) < c.movie_id_dropout, 0, self.movies.index[m])
        same = m[:, None] == m[None, :]  # [B, B] the target movie appears again as a negative
        bias = np.where(same & ~np.eye(len(rows), dtype=bool), -1e9, 0.0).astype(np.float32)
        if c.logq_correction:
            bias -= self.log_q[m][None, :]  # column j: subtract log Q(movie j)
        return {
            "user": [user_index, self.users.gender[u], self.users.age[u], self.users.occupation[u],
                     np.where(valid, self.history_movie[idx], 0), np.where(valid, self.weight[idx], 0.0)],
            "movie": [movie_index, self.movies.genres[m], self.movies.title[m], self.movies.year[m]],
            "bias": bias,
            "rating": self.rating[rows],
        }  # fmt: skip


def batch_loss(net, batch: dict, config: TrainConfig) -> paddle.Tensor:
    """Softmax: cross-entropy of each user against the batch's target movies; MSE: (5·cos − rating)²."""
    u = net.user_vectors(*[paddle.to_tensor(a) for a in batch["user"]])  # [B, D]
    m = net.movie_vectors(*[paddle.to_tensor(a) for a in batch["movie"]])  # [B, D]
    rating = paddle.to_tensor(batch["rating"])  # [B]
    if config.objective == "mse":
        return F.mse_loss(5.0 * (u * m).sum(axis=1), rating)
    logits = u @ m.T / config.temperature + paddle.to_tensor(batch["bias"])  # [B, B]
    labels = paddle.arange(logits.shape[0], dtype="int64")  # [B] the diagonal is the positive
    loss = F.cross_entropy(logits, labels)
    if config.rating_weight > 0:
        pred = (u * net.rating_w * m).sum(axis=1) + net.rating_b  # [B]
        loss = loss + config.rating_weight * F.mse_loss(pred, rating)
    return loss


def run_epoch(net, optimizer, examples: Examples, config: TrainConfig, epoch: int) -> float:
    """One pass over the shuffled examples; returns the mean loss. Raises TrainingDiverged on NaN/inf."""
    net.train()
    rng = np.random.default_rng([config.seed, epoch])
    order = rng.permutation(examples.n)
    total, steps = 0.0, 0
    for start in range(0, examples.n, config.batch_size):
        rows = order[start : start + config.batch_size]
        if len(rows) < 2:
            continue
        loss = batch_loss(net, examples.batch(rows, rng), config)
        value = float(loss)
        if not np.isfinite(value):
            raise TrainingDiverged(
                f"loss became {value} at epoch {epoch}, step {steps}; lower learning_rate or raise temperature"
            )
        loss.backward()
        optimizer.step()
        optimizer.clear_grad()
        total, steps = total + value, steps + 1
    return total / max(steps, 1)


def optimizer_state(net, state: dict, *, saving: bool) -> dict:
    """Rename optimizer-state keys between Paddle's per-process parameter names ("linear_3.w_0_moment1_0") and the
    stable structured names ("user_mlp.0.weight_moment1_0"), so a checkpoint loads into a freshly built network."""
    pairs = [(p.name, name) for name, p in net.named_parameters()]
    renames = pairs if saving else [(b, a) for a, b in pairs]
    out = {}
    for key, value in state.items():
        for old, new in renames:
            if isinstance(key, str) and key.startswith(old + "_"):
                key = new + key[len(old) :]
                break
        out[key] = value
    return out


def save_checkpoint(path: Path, net, optimizer, config: TrainConfig, state: dict) -> None:
    """One dict: model, optimizer, config, epoch, best metric (+ curve and patience counter), written atomically."""
    tmp = path.with_suffix(".tmp")
    opt_state = optimizer_state(net, optimizer.state_dict(), saving=True)
    paddle.save({"model": net.state_dict(), "optimizer": opt_state, "config": asdict(config), **state}, str(tmp))
    tmp.replace(path)


def train(
    dataset: Dataset,
    split: Split,
    config: TrainConfig,
    out_dir: Path,
    *,
    on_epoch: Callable[[dict], None] | None = None,
    resume: bool = False,
) -> TrainResult:
    """Fit on split.train minus a validation carve-out, early-stop on its NDCG@10, save the best model in out_dir."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    keep_freed_memory()
    paddle.set_device("cpu")
    paddle.framework.core.set_num_threads(config.threads)
    paddle.seed(config.seed)
    np.random.seed(config.seed)
    val = validation_split(split.train)
    encoder = FeatureEncoder.fit(
        dataset.catalog, val.train, max_title_tokens=config.max_title_tokens, max_history=config.max_history,
        min_token_count=config.min_token_count,
    )  # fmt: skip
    model = TwoTowerModel.build(encoder, config)
    examples = Examples(dataset, val.train, encoder, config)
    optimizer = paddle.optimizer.Adam(
        learning_rate=config.learning_rate, parameters=model.net.parameters(),
        weight_decay=config.weight_decay or None,
    )  # fmt: skip
    state = {"epoch": 0, "metric": -1.0, "best_epoch": 0, "bad_epochs": 0, "curve": []}
    checkpoint = out_dir / CHECKPOINT
    if resume and checkpoint.exists():
        saved = paddle.load(str(checkpoint))
        model.net.set_state_dict(saved["model"])
        optimizer.set_state_dict(optimizer_state(model.net, saved["optimizer"], saving=False))
        state = {k: saved[k] for k in state}
    while state["epoch"] < config.epochs and state["bad_epochs"] < config.patience:
        epoch, started = state["epoch"] + 1, time.perf_counter()
        loss = run_epoch(model.net, optimizer, examples, config, epoch)
        ndcg = evaluate_model(model, dataset, val, ks=(10,))["ndcg@10"]
        row = {"epoch": epoch, "epochs": config.epochs, "loss": loss, "val_ndcg@10": ndcg,
               "seconds": time.perf_counter() - started}  # fmt: skip
        state["curve"].append(row)
        if ndcg > state["metric"]:
            state.update(metric=ndcg, best_epoch=epoch, bad_epochs=0)
            model.save(out_dir / BEST_MODEL)
        else:
            state["bad_epochs"] += 1
        state["epoch"] = epoch
        save_checkpoint(checkpoint, model.net, optimizer, config, state)
        if on_epoch is not None:
            on_epoch(dict(row))
    best = TwoTowerModel.load(out_dir / BEST_MODEL)
    return TrainResult(best, state["curve"], state["best_epoch"], evaluate_model(best, dataset, val))

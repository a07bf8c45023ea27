"""The trainer: next-movie prediction at every history position, with a full softmax over the catalogue (up to
config.full_softmax_max_movies movies) or a logQ-corrected sampled softmax over the step's classes (larger ones).

Stage 1 fits split.train and early-stops on the temporal holdout's NDCG@10 (split.test): that model is the one
evaluated and gated. Stage 2 (refit) fits every rating for the chosen number of epochs: that model is served.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import paddle
import paddle.nn.functional as F

from recommender.ml import collective
from recommender.ml.config import TrainConfig
from recommender.ml.cpu import keeps_freed_memory
from recommender.ml.data import Dataset, Interactions
from recommender.ml.encoder import FeatureEncoder
from recommender.ml.evaluate import evaluate_model
from recommender.ml.model import TwoTowerModel
from recommender.ml.sequences import Sequences, sampled_softmax
from recommender.ml.split import Split

CHECKPOINT = "checkpoint.pdparams"
ADAM_BETA1 = 0.9  # Paddle's default
HOLDOUT_MODEL = "holdout"  # fitted on split.train, evaluated on the holdout (gate, re-scoring)
BEST_MODEL = "model"  # the served model: refitted on every rating (the holdout model when refit is off)


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite."""


@dataclass
class TrainResult:
    model: TwoTowerModel  # the holdout model (best epoch on split.test)
    curve: list[dict]  # one {"epoch", "epochs", "loss", "val_ndcg@10", "seconds"} per round (epochs may be fractional)
    best_epoch: float  # epochs trained when the holdout NDCG@10 was best (a whole number when rounds are epochs)
    val_metrics: dict  # the holdout model on split.test, every metric (what the gate reads)


def loss_name(movies: int, config: TrainConfig) -> str:
    """The loss a catalogue of ``movies`` trains with, as the pipeline's report names it."""
    if sampled_softmax(movies, config):
        in_batch = config.in_batch_negatives or "all"
        steps = f", steps above {config.step_targets:,} targets cut" if config.step_targets else ""
        return f"sampled softmax ({in_batch} in-batch + {config.negatives} uniform negatives, logQ-corrected{steps})"
    return "full softmax"


def lazy_user_ids(users: int, config: TrainConfig) -> bool:
    """Whether the user-id table trains row-sparse with lazy Adam: a step then updates its own users' rows only, where
    dense Adam reads and writes every row (and its two moments) every step, ~10% of a step at ML-25M's 162k users.
    A user's row is touched about once an epoch; dense Adam's momentum then keeps moving it the same way for ~10
    steps, which lazy Adam does not, so _setup scales the lazy table's learning rate by 1 / (1 - beta1).
    From config.lazy_user_ids_from rows on; dense with weight decay (Paddle's Adam refuses it on row-sparse tables)
    and with several training processes (collective.sum_gradients all-reduces dense gradients)."""
    threshold = config.lazy_user_ids_from
    one_process = config.trainer_processes == 1 and collective.world_size() == 1
    return bool(config.use_user_id and threshold and users >= threshold and not config.weight_decay and one_process)


def user_id_updates(model: TwoTowerModel) -> str:
    """How ``model`` trained its user-id table (the decision _setup took from its encoder), as the report names it."""
    lazy = lazy_user_ids(model.encoder.sizes["users"], model.config)
    return "lazy Adam (a step's own rows)" if lazy else "dense Adam"


def sampled_softmax_loss(users, movies, label_col, negative_col, label_at, log_q, temperature: float) -> paddle.Tensor:
    """Cross-entropy of each row of ``users`` [P, D] against its label and the step's negatives, among the step's
    classes ``movies`` [C, D] (columns label_col [P] and negative_col [N]), every logit minus the log of its class's
    inclusion probability ``log_q`` [C] (Yi et al. 2019). Logits [P, 1 + N]: the row's own label, then the
    negatives; ``label_at`` [P] is where the row's label is: 0, or 1 + j when negative j is that movie, and then
    column 0 is masked, so an accidental hit is the label's one column and never a negative."""
    # cos / T - log q as one product ([users / T, -1] · [movie, log q]): a broadcast subtract or mask over [P, N]
    # is slower on Paddle's CPU backend (see net.Linear) than this and the [P, 1] mask below
    ones = paddle.ones([users.shape[0], 1], dtype=users.dtype)
    users = paddle.concat([users / temperature, -ones], axis=1)  # [P, D+1]
    movies = paddle.concat([movies, log_q.unsqueeze(1)], axis=1)  # [C, D+1]
    every = negative_col.shape[0] == movies.shape[0]  # every class a negative (all in-batch, the default): no gather
    classes = movies if every else paddle.gather(movies, negative_col)  # [N, D+1]
    negatives = paddle.matmul(users, classes, transpose_y=True)  # [P, N]; no transposed copy of the classes
    if bool((label_at > 0).all()):  # every label among the negatives (all in-batch targets are): no extra column
        return F.cross_entropy(negatives, (label_at - 1).unsqueeze(1))
    positive = (users * paddle.gather(movies, label_col)).sum(axis=1, keepdim=True)  # [P, 1]
    positive = positive - 1e9 * (label_at > 0).astype(users.dtype).unsqueeze(1)  # the label is a negative column
    return F.cross_entropy(paddle.concat([positive, negatives], axis=1), label_at.unsqueeze(1))  # [P, 1 + N]


def batch_loss(net, batch: dict, config: TrainConfig) -> paddle.Tensor:
    """Softmax cross-entropy of every position's next movie: against the whole catalogue, or (a catalogue above
    config.full_softmax_max_movies) against the step's classes only, logQ-corrected."""
    states = net.history_states(*[paddle.to_tensor(a) for a in batch["history"]])  # [B, L, d]
    b, length, d = states.shape
    positions = paddle.to_tensor(batch["positions"])
    states = paddle.gather(states.reshape([b * length, d]), positions)  # [P, d]
    static = net.static_features(*[paddle.to_tensor(a) for a in batch["user"]])  # [B, s]
    users = net.user_head(paddle.gather(static, positions // length), states)  # [P, D]
    movies = net.movie_vectors(*[paddle.to_tensor(a) for a in batch["movies"]])  # [C, D]
    label_col = paddle.to_tensor(batch["label_col"])
    if "log_q" not in batch:  # full softmax over the catalogue; the temperature scales [P, D], not [P, M]
        return F.cross_entropy((users / config.temperature) @ movies.T, label_col.unsqueeze(1))
    sampled = [paddle.to_tensor(batch[key]) for key in ("negative_col", "label_at", "log_q")]
    return sampled_softmax_loss(users, movies, label_col, *sampled, config.temperature)


def cut_steps(batches: list[np.ndarray], targets: np.ndarray, most: int) -> list[np.ndarray]:
    """Each batch (window rows) of more than ``most`` targets cut into ceil(targets / most) batches of about equal
    window counts: the sampled softmax's cost per target grows with the step's targets (every target is a negative
    of every other), so long windows train in smaller steps."""
    cut = []
    for rows in batches:
        parts = min(-(-int(targets[rows].sum()) // most), len(rows))  # a window is never cut
        cut.extend(np.array_split(rows, parts) if parts > 1 else [rows])
    return cut


class EpochPlan:
    """One epoch: this epoch's windows, batched by similar length, in random order, taken in rounds.

    A round ends after about ``round_size`` next-movie targets or at the end of the epoch, whichever comes first:
    the holdout is evaluated after every round, so on large data (ML-1M: ~800k targets an epoch) early stopping
    does not wait for whole epochs, and on small data (ML-100K: ~64k) a round is an epoch.
    """

    def __init__(self, sequences: Sequences, config: TrainConfig, epoch: int):
        self.sequences, self.config = sequences, config
        self.rng = np.random.default_rng([config.seed, epoch])
        self.windows = sequences.windows(self.rng)
        lengths = (self.windows["input"] > -2).sum(axis=1)
        targets = (self.windows["target"] >= 0).sum(axis=1)
        by_length = np.lexsort((self.rng.random(len(lengths)), lengths))
        batches = [by_length[i : i + config.batch_size] for i in range(0, len(by_length), config.batch_size)]
        if sequences.sampled and config.step_targets:  # per process: each reads its share of a step's windows
            batches = cut_steps(batches, targets, config.step_targets * collective.world_size())
        self.batches = [batches[b] for b in self.rng.permutation(len(batches))]
        self.rng = collective.per_rank(self.rng)  # the batches' own draws (dropout, negatives) differ per process
        self.targets = np.array([targets[b].sum() for b in self.batches])  # [S] targets per batch
        self.total = int(self.targets.sum())

    def rounds(self, round_size: int):
        """Yield (share of the epoch done after this round, batches of the round)."""
        ends = np.cumsum(self.targets)
        start, done = 0, 0
        while start < len(self.batches):
            stop = int(np.searchsorted(ends, done + max(round_size, 1), side="left")) + 1
            stop = min(stop, len(self.batches))
            done = int(ends[stop - 1])
            yield done / max(self.total, 1), self.batches[start:stop]
            start = stop


def run_steps(net, optimizer, plan: EpochPlan, batches: list[np.ndarray], epoch: int) -> float:
    """Train on ``batches`` of ``plan``; mean loss. NaN/inf -> TrainingDiverged."""
    net.train()
    total = 0.0
    for step, rows in enumerate(batches):
        rows, share = collective.shard(plan, rows)  # this process's windows (all of them in one process)
        loss = batch_loss(net, plan.sequences.batch(plan.windows, rows, plan.rng), plan.config)
        (loss * share).backward()
        value = collective.sum_gradients(net, float(loss) * share)  # the whole batch's loss
        if not np.isfinite(value):
            raise TrainingDiverged(
                f"loss became {value} at epoch {epoch}, step {step}; lower learning_rate or raise temperature"
            )
        optimizer.step()
        optimizer.clear_grad()
        total += value
    return total / max(len(batches), 1)


def run_epoch(net, optimizer, sequences: Sequences, config: TrainConfig, epoch: int) -> float:
    """One whole pass over this epoch's windows; mean loss."""
    plan = EpochPlan(sequences, config, epoch)
    return run_steps(net, optimizer, plan, plan.batches, epoch)


def early_stopping_split(split: Split, config: TrainConfig) -> Split:
    """The holdout users early stopping reads: all of them, or a fixed random sample of config.eval_users."""
    users = np.unique(split.test.user_ids)
    if config.eval_users <= 0 or len(users) <= config.eval_users:
        return split
    sample = np.random.default_rng(config.seed).choice(users, size=config.eval_users, replace=False)
    return Split(split.train, split.test.subset(np.isin(split.test.user_ids, sample)))


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


def _setup(dataset: Dataset, fit: Interactions, config: TrainConfig):
    """Seeded Paddle on the CPU, an encoder fitted on ``fit``, a fresh model, its optimizer and the sequences."""
    encoder = _seeded_encoder(dataset, fit, config)
    lazy = lazy_user_ids(encoder.sizes["users"], config)
    model = TwoTowerModel.build(encoder, config, sparse_user_ids=lazy)
    collective.prepare(model.net, config.seed)
    if lazy:  # a lazy row takes one step per touch; dense Adam's momentum adds 1/(1 - beta1) - 1 more such steps
        model.net.user_id.weight.optimize_attr["learning_rate"] = 1 / (1 - ADAM_BETA1)
    optimizer = paddle.optimizer.Adam(  # lazy_mode reaches the row-sparse gradients only: the user-id table's
        learning_rate=config.learning_rate, parameters=model.net.parameters(), beta1=ADAM_BETA1,
        weight_decay=config.weight_decay or None, lazy_mode=lazy,
    )  # fmt: skip
    return model, optimizer, Sequences(dataset, fit, encoder, config)


def _seeded_encoder(dataset: Dataset, fit: Interactions, config: TrainConfig) -> FeatureEncoder:
    """Seeded Paddle on the CPU (dynamic graph, config.threads) and an encoder fitted on ``fit``: _setup's start."""
    paddle.disable_static()  # Paddle keeps its graph mode per thread (and per greenlet): training is dynamic-graph
    paddle.set_device("cpu")
    paddle.framework.core.set_num_threads(config.threads)
    paddle.seed(config.seed)
    np.random.seed(config.seed)
    return FeatureEncoder.fit(
        dataset.catalog, fit, max_title_tokens=config.max_title_tokens, max_history=config.max_history,
        min_token_count=config.min_token_count,
    )  # fmt: skip


def _one_of_the_processes(config: TrainConfig) -> None:
    """train() and refit() run in this process; several processes are launched by distributed.train / refit."""
    if collective.to_launch(config.trainer_processes):
        raise ValueError(
            f"trainer_processes = {config.trainer_processes}: call recommender.ml.distributed.train / refit, which "
            "launch the processes that run this loop"
        )


@keeps_freed_memory
def train(
    dataset: Dataset,
    split: Split,
    config: TrainConfig,
    out_dir: Path,
    *,
    on_epoch: Callable[[dict], None] | None = None,
    resume: bool = False,
) -> TrainResult:
    """Fit split.train, early-stop on the holdout's NDCG@10 (read after every round), save the best model in
    out_dir/holdout. Resuming restarts the epoch the checkpoint was in, from the weights of its last round."""
    _one_of_the_processes(config)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model, optimizer, sequences = _setup(dataset, split.train, config)
    state = {"epoch": 0, "metric": -1.0, "best_epoch": 0, "bad_epochs": 0, "curve": []}  # bad_epochs: rounds
    checkpoint = out_dir / CHECKPOINT
    if resume and checkpoint.exists():
        saved = paddle.load(str(checkpoint))
        model.net.set_state_dict(saved["model"])
        optimizer.set_state_dict(optimizer_state(model.net, saved["optimizer"], saving=False))
        state = {k: saved[k] for k in state}
    watched = early_stopping_split(split, config)
    while state["epoch"] < config.epochs and state["bad_epochs"] < config.patience:
        epoch = state["epoch"] + 1
        plan = EpochPlan(sequences, config, epoch)
        for done, batches in plan.rounds(config.eval_every):
            started = time.perf_counter()
            loss = run_steps(model.net, optimizer, plan, batches, epoch)
            ndcg = collective.from_rank0(lambda: evaluate_model(model, dataset, watched, ks=(10,))["ndcg@10"])
            at = round(epoch - 1 + done, 2)
            row = {"epoch": at, "epochs": config.epochs, "loss": loss, "val_ndcg@10": ndcg,
                   "seconds": time.perf_counter() - started}  # fmt: skip
            state["curve"].append(row)
            if ndcg > state["metric"]:
                state.update(metric=ndcg, best_epoch=at, bad_epochs=0)
                model.save(out_dir / HOLDOUT_MODEL)
            else:
                state["bad_epochs"] += 1
            if done >= 1.0:
                state["epoch"] = epoch
            save_checkpoint(checkpoint, model.net, optimizer, config, state)
            if on_epoch is not None:
                on_epoch(dict(row))
            if state["bad_epochs"] >= config.patience:
                break
    best = TwoTowerModel.load(out_dir / HOLDOUT_MODEL)
    return TrainResult(best, state["curve"], state["best_epoch"], evaluate_model(best, dataset, split))


def refit_epochs(config: TrainConfig, ratings: int, best_epoch: float) -> int:
    """Epochs of the refit: warm (config.refit_targets > 0) at least one pass over every rating and at least
    refit_targets next-movie targets; from scratch (0) the holdout's best epoch count."""
    if config.refit_targets > 0:
        return max(1, -(-config.refit_targets // max(ratings, 1)))
    return max(1, round(best_epoch))


@keeps_freed_memory
def refit(
    dataset: Dataset,
    config: TrainConfig,
    epochs: int,
    out_dir: Path,
    *,
    start_from: TwoTowerModel | None = None,
    on_epoch: Callable[[dict], None] | None = None,
) -> TwoTowerModel:
    """Fit every rating in ``dataset`` for ``epochs`` epochs (no holdout to stop on); saved in out_dir/model.

    ``start_from`` (the holdout model) warm-starts it: its weights are copied, embedding rows matched by id.
    """
    _one_of_the_processes(config)
    model, optimizer, sequences = _setup(dataset, dataset.interactions, config)
    if start_from is not None:
        transfer_weights(start_from, model)
    for epoch in range(1, epochs + 1):
        started = time.perf_counter()
        loss = run_epoch(model.net, optimizer, sequences, config, epoch)
        if on_epoch is not None:
            on_epoch({"epoch": epoch, "epochs": epochs, "loss": loss, "seconds": time.perf_counter() - started})
    model.save(Path(out_dir) / BEST_MODEL)
    return model


def transfer_weights(source: TwoTowerModel, target: TwoTowerModel) -> None:
    """Copy source's weights into target (same config, possibly larger vocabularies): id-embedding rows by id
    (OOV and start-token rows included), everything else as is. Ids new to the target keep their fresh rows."""
    old, new = source.encoder, target.encoder
    movie_rows = np.concatenate([[0], new.movie_index(old.movie_ids)])  # target row of each source row (0 = OOV)
    user_rows = np.concatenate([[0], new.user_index(old.user_ids)])
    history_rows = np.concatenate([movie_rows, [new.start_token]])
    by_table = {"movie_id.weight": movie_rows, "user_id.weight": user_rows, "history.weight": history_rows}
    state = target.net.state_dict()
    for name, value in source.net.state_dict().items():
        if name in by_table:
            table = state[name].numpy()
            table[by_table[name]] = value.numpy()
            state[name] = paddle.to_tensor(table)
        else:
            state[name] = value
    target.net.set_state_dict(state)

"""Training hyper-parameters: a dataclass of their names and types; their default values live in config.toml only."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

DEFAULT_CONFIG = Path(__file__).with_name("config.toml")


@dataclass
class TrainConfig:
    """Every field is required: load_config() fills them from config.toml (the one place a default is written)."""

    title_encoder: str  # "mean": pooled token embeddings (the one encoder; the key stays for saved configs)
    id_dim: int  # user id and movie id embeddings
    genre_dim: int  # genres: multi-hot (mean) -> linear
    title_dim: int  # title token embeddings
    year_dim: int  # release year, 5-year buckets
    demographic_dim: int  # gender, age bucket, occupation embeddings
    use_user_id: bool  # feed the user id embedding to the user tower (besides demographics and history)
    history_dim: int  # width of the self-attention over the rated movies
    attention_blocks: int  # causal transformer blocks over the history
    attention_heads: int
    dropout: float  # inside the attention blocks and on the history embeddings
    hidden_dim: int  # tower MLP hidden width
    out_dim: int  # output vector size (the Milvus dimension)
    temperature: float  # softmax temperature on the cosine
    full_softmax_max_movies: int  # catalogues up to this size train with a full softmax, larger ones sampled
    negatives: int  # shared uniform negatives per step of the sampled softmax
    in_batch_negatives: int  # shared negatives drawn from the step's own targets (0 = every target)
    step_targets: int  # sampled softmax: a step of more next-movie targets is cut into smaller steps (0 = never)
    lazy_user_ids_from: int  # a user-id table of this many rows or more updates only a step's own rows (0 = never)
    user_id_dropout: float  # share of sequences trained with the OOV user id (so new users get a trained bucket)
    movie_id_dropout: float  # share of movie ids replaced by the OOV bucket (new movies: content only)
    learning_rate: float  # Adam
    weight_decay: float  # Adam L2 coefficient
    batch_size: int  # history windows per step (each window trains every one of its positions)
    epochs: int  # upper bound; early stopping on the holdout usually ends sooner
    patience: int  # rounds without a better holdout NDCG@10 before stopping (it moves ±0.01 between rounds)
    eval_every: int  # next-movie targets per round (a round ends early at the end of an epoch)
    eval_users: int  # holdout users early stopping reads (a fixed sample; 0 = all); final metrics use all
    refit: bool  # after choosing the epoch count on the holdout, fit the served model on every rating
    refit_targets: int  # warm refit length: >= 1 epoch and >= this many targets; 0 = from scratch
    ranker: bool  # fit the second stage (LightGBM LambdaRank over the tower's candidates); served only if it wins
    ranker_users: int  # holdout users the ranker is fitted and judged on (a fixed sample; 0 = all)
    max_history: int  # most recent rated movies the user tower reads (the attention window)
    max_title_tokens: int
    min_token_count: int  # title tokens seen fewer times map to the OOV token
    seed: int
    threads: int  # CPU threads for Paddle (in each training process)
    trainer_processes: int  # 1 = train here; N > 1 = N data-parallel processes via paddle.distributed.launch


def _toml_read(path: str | Path) -> dict:
    with open(path, "rb") as f:
        return tomllib.load(f)


def load_config(path: str | Path | None = None, **overrides) -> TrainConfig:
    """Defaults from config.toml, then the file at ``path`` (if any), then keyword overrides (None values ignored).

    config.toml must name every field (a missing one is a ValueError here, not a silent fallback elsewhere);
    the file at ``path`` and the overrides may name any subset.
    """
    known = {f.name for f in fields(TrainConfig)}
    values = _toml_read(DEFAULT_CONFIG)
    missing = sorted(known - set(values))
    if missing:
        raise ValueError(f"{DEFAULT_CONFIG} lacks default values for: {', '.join(missing)}")
    if path is not None:
        values.update(_toml_read(path))
    values.update({k: v for k, v in overrides.items() if v is not None})
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"unknown config keys: {', '.join(unknown)}")
    config = TrainConfig(**values)
    if config.title_encoder != "mean":  # the text CNN was no better in the sweep (docs/benchmarks.md) and is gone
        raise ValueError(f"bad title_encoder {config.title_encoder!r}: only mean (the text CNN was removed)")
    if config.trainer_processes < 1:
        raise ValueError(f"trainer_processes must be >= 1, not {config.trainer_processes}")
    counts = ("negatives", "in_batch_negatives", "step_targets", "full_softmax_max_movies", "lazy_user_ids_from")
    if min(getattr(config, name) for name in counts) < 0:
        raise ValueError(f"{', '.join(counts[:-1])} and {counts[-1]} must be >= 0")
    if config.history_dim % max(config.attention_heads, 1):
        raise ValueError(f"history_dim {config.history_dim} must be a multiple of attention_heads")
    return config

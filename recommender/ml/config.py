"""Training hyper-parameters: a dataclass whose defaults live in config.toml next to this file."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

DEFAULT_CONFIG = Path(__file__).with_name("config.toml")


@dataclass
class TrainConfig:
    title_encoder: str = "mean"  # "mean" pooled token embeddings | "cnn" text CNN with max pooling
    id_dim: int = 64  # user id and movie id embeddings
    genre_dim: int = 16  # genres: multi-hot (mean) -> linear
    title_dim: int = 32  # title token embeddings
    year_dim: int = 8  # release year, 5-year buckets
    demographic_dim: int = 8  # gender, age bucket, occupation embeddings
    use_user_id: bool = True  # feed the user id embedding to the user tower (besides demographics and history)
    history_dim: int = 64  # width of the self-attention over the rated movies
    attention_blocks: int = 2  # causal transformer blocks over the history
    attention_heads: int = 2
    dropout: float = 0.2  # inside the attention blocks and on the history embeddings
    hidden_dim: int = 256  # tower MLP hidden width
    out_dim: int = 256  # output vector size (the Milvus dimension)
    temperature: float = 0.05  # softmax temperature on the cosine
    negatives: int = 0  # shared sampled negatives per step (logQ-corrected); 0 = full softmax over the catalogue
    user_id_dropout: float = 0.1  # share of sequences trained with the OOV user id (so new users get a trained bucket)
    movie_id_dropout: float = 0.05  # share of movie ids replaced by the OOV bucket (new movies: content only)
    learning_rate: float = 0.002  # Adam
    weight_decay: float = 0.0  # Adam L2 coefficient
    batch_size: int = 32  # history windows per step (each window trains every one of its positions)
    epochs: int = 30  # upper bound; early stopping on the holdout usually ends sooner
    patience: int = 5  # rounds without a better holdout NDCG@10 before stopping (it moves ±0.01 between rounds)
    eval_every: int = 200_000  # next-movie targets per round (a round ends early at the end of an epoch)
    eval_users: int = 1000  # holdout users early stopping reads (a fixed sample; 0 = all); final metrics use all
    refit: bool = True  # after choosing the epoch count on the holdout, fit the served model on every rating
    refit_targets: int = 200_000  # warm refit length: >= 1 epoch and >= this many targets; 0 = from scratch
    max_history: int = 200  # most recent rated movies the user tower reads (the attention window)
    max_title_tokens: int = 8
    min_token_count: int = 2  # title tokens seen fewer times map to the OOV token
    seed: int = 0
    threads: int = 2  # CPU threads for Paddle


def load_config(path: str | Path | None = None, **overrides) -> TrainConfig:
    """Defaults from config.toml, then the file at ``path`` (if any), then keyword overrides (None values ignored)."""
    values: dict = {}
    for source in (DEFAULT_CONFIG, path):
        if source is not None:
            with open(source, "rb") as f:
                values.update(tomllib.load(f))
    values.update({k: v for k, v in overrides.items() if v is not None})
    known = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"unknown config keys: {', '.join(unknown)}")
    config = TrainConfig(**values)
    if config.title_encoder not in ("mean", "cnn"):
        raise ValueError(f"bad title_encoder {config.title_encoder!r}: use mean or cnn")
    if config.history_dim % max(config.attention_heads, 1):
        raise ValueError(f"history_dim {config.history_dim} must be a multiple of attention_heads")
    return config

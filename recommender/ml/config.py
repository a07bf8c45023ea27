"""Training hyper-parameters: a dataclass whose defaults live in config.toml next to this file."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

DEFAULT_CONFIG = Path(__file__).with_name("config.toml")


@dataclass
class TrainConfig:
    objective: str = "softmax"  # "softmax" (retrieval) | "mse" (ablation: 5·cos regressed on the rating)
    use_history: bool = True  # user tower input: the user's rated movies, pooled, weighted by rating / 5
    title_encoder: str = "mean"  # "mean" pooled token embeddings | "cnn" text CNN with max pooling
    id_dim: int = 64  # user id and movie id embeddings
    genre_dim: int = 16  # genres: multi-hot (mean) -> linear
    title_dim: int = 32  # title token embeddings
    year_dim: int = 8  # release year, 5-year buckets
    demographic_dim: int = 8  # gender, age bucket, occupation embeddings
    history_dim: int = 64  # rated-movie embeddings (a table separate from the movie tower's id table)
    hidden_dim: int = 256  # tower MLP hidden width
    out_dim: int = 256  # output vector size (the Milvus dimension)
    temperature: float = 0.05  # softmax temperature on the cosine
    logq_correction: bool = True  # subtract log(sampling probability) of in-batch negatives
    rating_weight: float = 0.0  # weight of the auxiliary rating-head MSE; 0 = no rating head
    user_id_dropout: float = 0.1  # share of examples trained with the OOV user id (so new users get a trained bucket)
    movie_id_dropout: float = 0.05  # share of examples trained with the OOV movie id (new movies: content only)
    learning_rate: float = 0.002  # Adam
    weight_decay: float = 0.0  # Adam L2 coefficient
    batch_size: int = 1024  # also the number of in-batch negatives
    epochs: int = 12  # upper bound; early stopping usually ends sooner
    patience: int = 2  # epochs without a better validation NDCG@10 before stopping
    max_history: int = 100  # most recent rated movies fed to the user tower
    max_title_tokens: int = 8
    min_token_count: int = 2  # title tokens seen fewer times map to the OOV token
    seed: int = 0
    threads: int = 1  # CPU threads for Paddle (one was faster than two on the 2-core machine)


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
    if config.objective not in ("softmax", "mse") or config.title_encoder not in ("mean", "cnn"):
        raise ValueError(f"bad objective {config.objective!r} or title_encoder {config.title_encoder!r}")
    return config

"""Top-K ranking metrics as pure functions on arrays (one value per user unless stated).

Inputs shared by the per-user metrics:
  hits [U, K] bool: hits[u, r] is True when the movie ranked r-th (0-based) for user u is relevant;
  n_relevant [U] int: how many relevant (held-out) movies user u has (>= 1).
"""

from __future__ import annotations

import numpy as np


def recall_at_k(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    """Recall@K = |relevant ∩ top-K| / |relevant|."""
    return hits[:, :k].sum(axis=1) / n_relevant


def precision_at_k(hits: np.ndarray, k: int) -> np.ndarray:
    """Precision@K = |relevant ∩ top-K| / K."""
    return hits[:, :k].sum(axis=1) / k


def hit_rate_at_k(hits: np.ndarray, k: int) -> np.ndarray:
    """HitRate@K = 1 if |relevant ∩ top-K| > 0 else 0."""
    return hits[:, :k].any(axis=1).astype(np.float64)


def ndcg_at_k(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    """Binary NDCG@K = DCG / IDCG, DCG = Σ_{r<K} hit_r / log2(r+2), IDCG = Σ_{r<min(K,|relevant|)} 1 / log2(r+2)."""
    discounts = 1.0 / np.log2(np.arange(k) + 2.0)  # [K]
    dcg = (hits[:, :k] * discounts[: hits[:, :k].shape[1]]).sum(axis=1)
    idcg = np.cumsum(discounts)[np.minimum(n_relevant, k) - 1]
    return dcg / idcg


def coverage_at_k(top_items: np.ndarray, n_items: int, k: int) -> float:
    """Catalogue coverage@K = |∪_u top-K(u)| / |catalogue|; top_items [U, >=K] item indices."""
    return len(np.unique(top_items[:, :k])) / n_items


def mean_popularity_at_k(top_items: np.ndarray, popularity: np.ndarray, k: int) -> float:
    """Mean popularity of recommended items = mean over users and ranks r<K of popularity[top_items[u, r]]."""
    return float(popularity[top_items[:, :k]].mean())


def standard_error(values: np.ndarray) -> float:
    """Standard error of the mean across users: std(values, ddof=1) / sqrt(n)."""
    return float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else 0.0

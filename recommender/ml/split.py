"""The evaluation protocol's per-user temporal split (DESIGN.md §5)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from recommender.ml.data import Interactions


@dataclass
class Split:
    train: Interactions
    test: Interactions
    # what evaluation read from this split (evaluate.Protocol, with its catalogue): built once, gone with the split
    protocol: tuple | None = field(default=None, init=False, repr=False, compare=False)


def chronological_order(interactions: Interactions) -> np.ndarray:
    """Row order sorted by (user, timestamp, movie id): each user's ratings oldest first."""
    return np.lexsort((interactions.movie_ids, interactions.timestamps, interactions.user_ids))


def last_fraction_mask(user_ids_sorted: np.ndarray, *, fraction: float, min_ratings: int) -> np.ndarray:
    """For rows grouped by user in time order: True on each user's last ``max(1, floor(n·fraction))`` rows.

    Users with fewer than ``min_ratings`` rows get no True row.
    """
    _, starts, counts = np.unique(user_ids_sorted, return_index=True, return_counts=True)
    n_held = np.maximum(1, np.floor(counts * fraction + 1e-9).astype(np.int64))
    n_held[counts < min_ratings] = 0
    position = np.arange(len(user_ids_sorted)) - np.repeat(starts, counts)  # 0..n-1 within each user
    return position >= np.repeat(counts - n_held, counts)


def temporal_split(interactions: Interactions, *, test_fraction: float = 0.2, min_ratings: int = 5) -> Split:
    """Per user with >= min_ratings: sort by (timestamp, movie id), the last 20% (at least 1) -> test."""
    ordered = interactions.subset(chronological_order(interactions))
    is_test = last_fraction_mask(ordered.user_ids, fraction=test_fraction, min_ratings=min_ratings)
    return Split(train=ordered.subset(~is_test), test=ordered.subset(is_test))

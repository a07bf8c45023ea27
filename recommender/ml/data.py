"""Plain-array containers for the catalogue, users and ratings, saved as one .npz file."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# The user tower's age vocabulary: MovieLens 1M's age bucket codes (the importer maps ML-100K's exact ages onto
# them); 0 = unknown. This package imports nothing from the project: tests/movies/test_movielens.py holds these
# equal to the project's one definition, movies/movielens.py AGE_BUCKETS.
AGE_BUCKETS = (1, 18, 25, 35, 45, 50, 56)


def lookup(keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Position of each value in ``keys`` (unique, any order), -1 where absent."""
    values = np.asarray(values, dtype=np.int64)
    if len(keys) == 0:
        return np.full(len(values), -1, dtype=np.int64)
    order = np.argsort(keys)
    pos = np.clip(np.searchsorted(keys[order], values), 0, len(keys) - 1)
    return np.where(keys[order][pos] == values, order[pos], -1).astype(np.int64)


@dataclass
class Catalog:
    """Movies: row i describes movie_ids[i]."""

    movie_ids: np.ndarray  # int64 [M]
    titles: list[str]
    genres: list[list[str]]
    years: np.ndarray  # int32 [M], 0 = unknown

    def __len__(self) -> int:
        return len(self.movie_ids)


@dataclass
class Users:
    """User profiles: row i describes user_ids[i]."""

    user_ids: np.ndarray  # int64 [U]
    genders: list[str]  # "M", "F" or "" (unknown)
    ages: np.ndarray  # int32 [U] ML-1M bucket codes, 0 = unknown
    occupations: np.ndarray  # int32 [U] 0..20, -1 = unknown

    def __len__(self) -> int:
        return len(self.user_ids)

    def select(self, user_ids: np.ndarray) -> Users:
        """Profiles of ``user_ids`` in that order; ids not present get unknown demographics."""
        rows = lookup(self.user_ids, user_ids)
        known = rows >= 0
        safe = np.where(known, rows, 0)
        return Users(
            np.asarray(user_ids, dtype=np.int64),
            [self.genders[r] if k else "" for r, k in zip(safe, known, strict=True)],
            np.where(known, self.ages[safe] if len(self) else 0, 0).astype(np.int32),
            np.where(known, self.occupations[safe] if len(self) else -1, -1).astype(np.int32),
        )


INT32_MAX = np.iinfo(np.int32).max


def _ids(values) -> np.ndarray:
    """Ids as int32 when every one fits (the database's ids do), else int64: a 25M-rating Interactions and the
    copies training makes of it (split, fitted rows) take 4 bytes less per id and row."""
    ids = np.asarray(values)
    if ids.dtype == np.int32:
        return ids
    ids = ids.astype(np.int64, copy=False)
    if len(ids) and 0 <= ids.min() and ids.max() <= INT32_MAX:
        return ids.astype(np.int32)
    return ids


@dataclass
class Interactions:
    """Ratings as parallel arrays."""

    user_ids: np.ndarray  # int32 [N] (int64 when an id does not fit 31 bits)
    movie_ids: np.ndarray  # int32 [N] (likewise)
    scores: np.ndarray  # float32 [N], 0.5..5.0 (half stars; the 1M and 100K releases: whole stars)
    timestamps: np.ndarray  # int64 [N], unix seconds

    def __len__(self) -> int:
        return len(self.user_ids)

    def __post_init__(self) -> None:
        self.user_ids = _ids(self.user_ids)
        self.movie_ids = _ids(self.movie_ids)
        self.scores = np.asarray(self.scores, dtype=np.float32)
        self.timestamps = np.asarray(self.timestamps, dtype=np.int64)

    def subset(self, mask_or_index: np.ndarray) -> Interactions:
        """The rows selected by a boolean mask or an index array (the same arrays, not a copy, when a mask keeps
        every row: training's fitted rows usually are the whole train split)."""
        m = np.asarray(mask_or_index)
        if m.dtype == bool and len(m) == len(self) and m.all():
            return Interactions(self.user_ids, self.movie_ids, self.scores, self.timestamps)
        return Interactions(self.user_ids[m], self.movie_ids[m], self.scores[m], self.timestamps[m])


@dataclass
class Dataset:
    """Everything one training run reads."""

    catalog: Catalog
    users: Users
    interactions: Interactions

    def save(self, path: str | Path) -> None:
        """Write one .npz: numeric arrays as arrays, the strings as one JSON document inside it."""
        strings = {"titles": self.catalog.titles, "genres": self.catalog.genres, "genders": self.users.genders}
        with open(path, "wb") as f:  # a file object keeps numpy from appending ".npz" to the name
            np.savez(
                f,
                movie_ids=self.catalog.movie_ids.astype(np.int64),
                years=self.catalog.years.astype(np.int32),
                user_ids=self.users.user_ids.astype(np.int64),
                ages=self.users.ages.astype(np.int32),
                occupations=self.users.occupations.astype(np.int32),
                r_user_ids=self.interactions.user_ids,
                r_movie_ids=self.interactions.movie_ids,
                r_scores=self.interactions.scores,
                r_timestamps=self.interactions.timestamps,
                strings=np.array(json.dumps(strings)),
            )

    @classmethod
    def load(cls, path: str | Path) -> Dataset:
        with np.load(path, allow_pickle=False) as z:
            strings = json.loads(str(z["strings"]))
            catalog = Catalog(z["movie_ids"], strings["titles"], strings["genres"], z["years"])
            users = Users(z["user_ids"], strings["genders"], z["ages"], z["occupations"])
            ratings = Interactions(z["r_user_ids"], z["r_movie_ids"], z["r_scores"], z["r_timestamps"])
        return cls(catalog, users, ratings)

"""The one feature encoder shared by training and serving: ids, genres, titles, years, demographics -> index arrays."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import numpy as np

from recommender.ml.data import AGE_BUCKETS, Catalog, Interactions, Users, lookup
from recommender.ml.split import chronological_order

OOV = 0  # index 0 of every id vocabulary is the out-of-vocabulary bucket
PAD_TOKEN, OOV_TOKEN = 0, 1
GENDERS = {"M": 1, "F": 2}  # 0 = unknown
N_AGES, N_OCCUPATIONS, N_YEARS = len(AGE_BUCKETS) + 1, 22, 23
TOKEN_RE = re.compile(r"[a-z0-9']+")
# The score range as the model reads it (movies/movielens.py's, held equal by tests/movies/test_movielens.py):
RATING_LEVELS = 10  # history rating indices 1..10 = 0.5..5.0 stars in half steps; 0 = the start token
WHOLE_STAR_LEVELS = 5  # the top score in whole stars; models saved before half stars read 1..5 stars


def rating_index(scores, levels: int = RATING_LEVELS) -> np.ndarray:
    """The history rating input of each score: score * levels / 5 (the top score) rounded half up, clipped to
    1..levels (10 levels: 0.5 -> 1, 1.0 -> 2, ..., 5.0 -> 10; 5 levels, a model trained on whole stars: 3.5 -> 4, the
    nearest it knows)."""
    scores = np.asarray(scores, dtype=np.float64)
    return np.clip(np.floor(scores * (levels / WHOLE_STAR_LEVELS) + 0.5), 1, levels).astype(np.int64)


def rating_levels_of(scores: np.ndarray) -> int:
    """Half-star levels when the training ratings hold a half star, else whole stars: a level no rating trained would
    keep its random embedding row (a site user's one half star on a whole-star catalogue)."""
    return RATING_LEVELS if np.any(np.asarray(scores) % 1) else WHOLE_STAR_LEVELS


def title_tokens(title: str) -> list[str]:
    """Lower-case word tokens of a title without its trailing "(1995)"."""
    return TOKEN_RE.findall(re.sub(r"\(\d{4}\)\s*$", "", title).lower())


def year_bucket(years: np.ndarray) -> np.ndarray:
    """0 = unknown; 1 = up to 1919, then one bucket per 5 years, 22 = 2020 and later."""
    years = np.asarray(years, dtype=np.int64)
    return np.where(years > 0, 1 + np.clip((years - 1915) // 5, 0, N_YEARS - 2), 0)


@dataclass
class MovieFeatures:
    index: np.ndarray  # int64 [M] movie-id vocabulary index, 0 = OOV
    genres: np.ndarray  # float32 [M, G] multi-hot divided by the genre count
    title: np.ndarray  # int64 [M, T] token indices, 0 = padding
    year: np.ndarray  # int64 [M] year bucket


@dataclass
class UserFeatures:
    index: np.ndarray  # int64 [U] user-id vocabulary index, 0 = OOV
    gender: np.ndarray  # int64 [U]
    age: np.ndarray  # int64 [U]
    occupation: np.ndarray  # int64 [U]
    history: np.ndarray  # int64 [U, L] start token, then the rated movies' vocabulary indices, most recent last
    history_rating: np.ndarray  # int64 [U, L] rating_index() of each history movie, 0 at the start token
    history_mask: np.ndarray  # float32 [U, L] 1 = a real position (start token included), 0 = left padding


class FeatureEncoder:
    """Vocabularies (saved with the model) and the functions turning raw arrays into model inputs."""

    def __init__(
        self,
        movie_ids,
        user_ids,
        genres: list[str],
        tokens: list[str],
        max_title_tokens: int,
        max_history: int,
        rating_levels: int = RATING_LEVELS,
    ):
        self.movie_ids = np.asarray(movie_ids, dtype=np.int64)  # vocabulary index i+1 <-> movie_ids[i]
        self.user_ids = np.asarray(user_ids, dtype=np.int64)
        self.genres, self.tokens = list(genres), list(tokens)  # tokens[0:2] = "<pad>", "<oov>"
        self.genre_index = {g: i for i, g in enumerate(self.genres)}
        self.token_index = {t: i for i, t in enumerate(self.tokens)}
        self.max_title_tokens, self.max_history = max_title_tokens, max_history
        self.rating_levels = rating_levels  # saved with the model: older ones read whole stars (5)

    @classmethod
    def fit(cls, catalog: Catalog, train: Interactions, *, max_title_tokens=8, max_history=100, min_token_count=2):
        """Movies and users with at least one train rating get their own id; all catalogue titles feed the tokens."""
        counts = Counter(t for title in catalog.titles for t in set(title_tokens(title)))
        tokens = ["<pad>", "<oov>"] + sorted(t for t, c in counts.items() if c >= min_token_count)
        genres = sorted({g for gs in catalog.genres for g in gs})
        return cls(np.unique(train.movie_ids), np.unique(train.user_ids), genres, tokens, max_title_tokens, max_history,
                   rating_levels_of(train.scores))  # fmt: skip

    @property
    def start_token(self) -> int:
        """History index of the start-of-history token (after every movie index): what a user with no rating reads."""
        return len(self.movie_ids) + 1

    @property
    def sizes(self) -> dict:
        """Table sizes the network is built with."""
        return {
            "movies": len(self.movie_ids) + 1,
            "users": len(self.user_ids) + 1,
            "genres": len(self.genres),
            "tokens": len(self.tokens),
            "ratings": self.rating_levels + 1,
        }

    def movie_index(self, movie_ids: np.ndarray) -> np.ndarray:
        return lookup(self.movie_ids, movie_ids) + 1  # -1 (unknown) -> 0 = OOV

    def user_index(self, user_ids: np.ndarray) -> np.ndarray:
        return lookup(self.user_ids, user_ids) + 1

    def ratings(self, scores) -> np.ndarray:
        """History rating inputs of ``scores`` (int64), as this encoder's network was built to read them."""
        return rating_index(scores, self.rating_levels)

    def encode_movies(self, catalog: Catalog) -> MovieFeatures:
        m, t = len(catalog), self.max_title_tokens
        genres = np.zeros((m, max(len(self.genres), 1)), dtype=np.float32)
        title = np.zeros((m, t), dtype=np.int64)
        for i, (gs, name) in enumerate(zip(catalog.genres, catalog.titles, strict=True)):
            cols = [self.genre_index[g] for g in gs if g in self.genre_index]
            genres[i, cols] = 1.0 / max(len(cols), 1)
            toks = [self.token_index.get(w, OOV_TOKEN) for w in title_tokens(name)][:t]
            title[i, : len(toks)] = toks
        return MovieFeatures(self.movie_index(catalog.movie_ids), genres, title, year_bucket(catalog.years))

    def encode_users(self, users: Users, histories: list[tuple[np.ndarray, np.ndarray]]) -> UserFeatures:
        """histories[i] = (movie ids, ratings) of users.user_ids[i], oldest first.

        The user's sequence is [start token, movie 1, ..., movie n]; its last max_history entries are kept,
        right-aligned with padding on the left (the network reads its output at the last position).
        """
        u, h = len(users), self.max_history
        history = np.zeros((u, h), dtype=np.int64)
        rating = np.zeros((u, h), dtype=np.int64)
        mask = np.zeros((u, h), dtype=np.float32)
        for i, (movie_ids, scores) in enumerate(histories):
            sequence = np.concatenate([[self.start_token], self.movie_index(movie_ids)])[-h:]
            stars = np.concatenate([[0], self.ratings(scores)])[-h:]
            n = len(sequence)
            history[i, h - n :], rating[i, h - n :], mask[i, h - n :] = sequence, stars, 1.0
        ages = np.searchsorted(AGE_BUCKETS, users.ages) + 1
        age = np.where(np.isin(users.ages, AGE_BUCKETS), ages, 0)
        return UserFeatures(
            index=self.user_index(users.user_ids),
            gender=np.array([GENDERS.get(g, 0) for g in users.genders], dtype=np.int64),
            age=age.astype(np.int64),
            occupation=np.clip(np.asarray(users.occupations, dtype=np.int64) + 1, 0, N_OCCUPATIONS - 1),
            history=history,
            history_rating=rating,
            history_mask=mask,
        )

    def to_dict(self) -> dict:
        return {
            "movie_ids": self.movie_ids.tolist(),
            "user_ids": self.user_ids.tolist(),
            "genres": self.genres,
            "tokens": self.tokens,
            "max_title_tokens": self.max_title_tokens,
            "max_history": self.max_history,
            "rating_levels": self.rating_levels,
        }

    @classmethod
    def from_dict(cls, d: dict) -> FeatureEncoder:
        levels = d.get("rating_levels", WHOLE_STAR_LEVELS)  # saved before half stars: whole stars, 6 embedding rows
        return cls(d["movie_ids"], d["user_ids"], d["genres"], d["tokens"], d["max_title_tokens"], d["max_history"],
                   levels)  # fmt: skip


def user_histories(interactions: Interactions, user_ids: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each user's (movie ids, ratings) from ``interactions``, oldest first; empty arrays for users without any."""
    ordered = interactions.subset(chronological_order(interactions))
    uniq, starts, counts = np.unique(ordered.user_ids, return_index=True, return_counts=True)
    rows = lookup(uniq, user_ids)
    empty = (np.zeros(0, np.int64), np.zeros(0, np.float32))
    return [
        (ordered.movie_ids[starts[r] : starts[r] + counts[r]], ordered.scores[starts[r] : starts[r] + counts[r]])
        if r >= 0
        else empty
        for r in rows
    ]

"""Tiny synthetic MovieLens-shaped datasets generated in the tests (never real MovieLens files)."""

import numpy as np

from recommender.ml.data import Catalog, Dataset, Interactions, Users

GENRES = ["Action", "Comedy", "Drama", "Horror", "Romance"]
# A network small enough to train in a fraction of a second (the model tests' shared config overrides)
SMALL = {"id_dim": 8, "genre_dim": 4, "title_dim": 8, "history_dim": 8, "hidden_dim": 32, "batch_size": 8,
         "max_history": 10, "threads": 1}  # fmt: skip


def tiny_dataset(n_users: int = 40, n_movies: int = 30, per_user: int = 12, seed: int = 0) -> Dataset:
    """Users prefer one genre; each rates `per_user` movies, mostly from that genre, at increasing times."""
    rng = np.random.default_rng(seed)
    movie_ids = np.arange(1, n_movies + 1, dtype=np.int64) * 10
    movie_genre = rng.integers(0, len(GENRES), n_movies)
    catalog = Catalog(
        movie_ids,
        [f"Film {GENRES[g]} number {i} ({1950 + i})" for i, g in enumerate(movie_genre)],
        [[GENRES[g]] for g in movie_genre],
        np.array([1950 + i for i in range(n_movies)], dtype=np.int32),
    )
    user_ids = np.arange(1, n_users + 1, dtype=np.int64)
    users = Users(
        user_ids,
        ["M" if u % 2 else "F" for u in user_ids],
        np.array([[1, 18, 25, 35, 45, 50, 56][u % 7] for u in user_ids], dtype=np.int32),
        (user_ids % 21).astype(np.int32),
    )
    rows = []
    for u in user_ids:
        liked = rng.integers(0, len(GENRES))
        weights = np.where(movie_genre == liked, 8.0, 1.0)
        chosen = rng.choice(n_movies, size=per_user, replace=False, p=weights / weights.sum())
        for t, m in enumerate(chosen):
            rows.append((u, movie_ids[m], 5.0 if movie_genre[m] == liked else 2.0, 1_000_000 + 100 * t))
    r = np.array(rows)
    return Dataset(catalog, users, Interactions(r[:, 0], r[:, 1], r[:, 2], r[:, 3]))

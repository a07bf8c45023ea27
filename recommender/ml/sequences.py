"""The training examples: each user's ratings in time order, cut into windows for the user tower, batched, with
each step's softmax classes (the whole catalogue, or the step's targets plus uniform draws and their log inclusion
probability for the logQ-corrected sampled softmax). The trainer (train.py) turns a batch into a loss.
"""

from __future__ import annotations

import numpy as np

from recommender.ml.config import TrainConfig
from recommender.ml.data import Dataset, Interactions
from recommender.ml.encoder import FeatureEncoder
from recommender.ml.evaluate import catalog_index


def sampled_softmax(movies: int, config: TrainConfig) -> bool:
    """Whether a catalogue of ``movies`` trains with the sampled softmax (else the full one): config.toml's rule."""
    return movies > config.full_softmax_max_movies


class Sequences:
    """Each user's ratings in time order, cut into windows of max_history positions for the user tower.

    A user's sequence is [start, m1, ..., mn]; position j reads entries <= j and its target is m(j+1), so one
    window trains up to max_history next-movie predictions. Ratings that share a timestamp are put in a random
    order every epoch: MovieLens users rate in bursts and the id order inside a burst is no signal.
    """

    def __init__(self, dataset: Dataset, fit: Interactions, encoder: FeatureEncoder, config: TrainConfig):
        fit = fit.subset(catalog_index(dataset.catalog, fit.movie_ids) >= 0)
        self.fit, self.config, self.start_token = fit, config, encoder.start_token
        self.n = len(fit)
        users, self.user_row = np.unique(fit.user_ids, return_inverse=True)  # [U], [N]
        self.users = encoder.encode_users(dataset.users.select(users), [])  # static user features
        self.movies = encoder.encode_movies(dataset.catalog)  # [M] movie tower inputs (the softmax's classes)
        self.history_movie = encoder.movie_index(fit.movie_ids)  # [N]
        self.target = catalog_index(dataset.catalog, fit.movie_ids)  # [N] catalogue row = class label
        self.stars = encoder.ratings(fit.scores)  # [N] history rating inputs (half stars kept)
        counts = np.bincount(self.target, minlength=len(dataset.catalog)).astype(np.float64)
        self.target_p = counts / max(counts.sum(), 1.0)  # [M] share of the targets that are each movie
        self.sampled = sampled_softmax(len(dataset.catalog), config)  # else a full softmax

    def classes(self, labels: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        """This step's classes C (catalogue rows, sorted, unique: the rows the movie tower reads), its negatives
        (a sorted, unique subset of C) and log P(row is among the negatives) [C].

        Full softmax: the whole catalogue, every row a class, no correction (None, None). Sampled: the step's
        labels (each position's positive) and its negatives, drawn with replacement: config.in_batch_negatives of
        the step's labels (all of them when 0 or when the step has fewer) plus config.negatives uniform draws."""
        m = len(self.target_p)
        if not self.sampled:
            return np.arange(m), None, None
        cap = self.config.in_batch_negatives
        in_batch = len(labels) if cap == 0 else min(cap, len(labels))
        drawn = labels if in_batch == len(labels) else rng.choice(labels, size=in_batch)
        negatives = np.union1d(drawn, rng.integers(0, m, size=self.config.negatives))
        classes = np.union1d(labels, negatives)
        return classes, negatives, log_inclusion(self.target_p[classes], in_batch, self.config.negatives, m)

    def windows(self, rng: np.random.Generator) -> dict:
        """This epoch's windows: arrays [W, L] of rating rows (-1 = start token, -2 = padding) and targets."""
        L = self.config.max_history
        order = np.lexsort((rng.random(self.n), self.fit.timestamps, self.user_row))  # ties in random order
        user_row = self.user_row[order]
        _, starts, counts = np.unique(user_row, return_index=True, return_counts=True)
        if self.n < np.iinfo(np.int32).max:  # [W, L] arrays in int32: half the memory (25M ratings: ~1 GB less)
            order, starts, counts = order.astype(np.int32), starts.astype(np.int32), counts.astype(np.int32)
        per_user = -(-counts // L)  # windows per user: ceil(n / L)
        w_user = np.repeat(np.arange(len(counts)), per_user)  # [W] user (index into starts/counts)
        k = np.arange(len(w_user)) - np.repeat(np.cumsum(per_user) - per_user, per_user)  # 0 = the newest window
        end = counts[w_user] - k * L  # [W] one past the last target position j
        j = end[:, None] - L + np.arange(L, dtype=end.dtype)  # [W, L] target position within the user's ratings
        valid = j >= 0
        first = starts[w_user][:, None]
        input_row = np.where(j > 0, order[np.clip(first + j - 1, 0, self.n - 1)], -1)  # j = 0 reads the start token
        input_row = np.where(valid, input_row, -2)
        target_row = np.where(valid, order[np.clip(first + j, 0, self.n - 1)], -1)
        return {"input": input_row, "target": target_row, "user": user_row[starts][w_user]}

    def batch(self, windows: dict, rows: np.ndarray, rng: np.random.Generator) -> dict:
        """Numpy inputs for windows ``rows``, trimmed on the left to the longest of them."""
        c = self.config
        inputs, targets = windows["input"][rows], windows["target"][rows]  # [B, L]
        length = int((inputs > -2).sum(axis=1).max())
        inputs, targets = inputs[:, -length:], targets[:, -length:]
        real = inputs >= 0
        history = np.where(real, self.history_movie[np.maximum(inputs, 0)], 0)
        history = np.where(real & (rng.random(history.shape) < c.movie_id_dropout), 0, history)  # train the OOV id
        history = np.where(inputs == -1, self.start_token, history)
        u = windows["user"][rows]
        keep = targets >= 0
        labels = self.target[targets[keep]]  # [P] catalogue rows
        classes, negatives, log_q = self.classes(labels, rng)  # [C] catalogue rows whose movie vectors it needs
        batch = {
            "user": [np.where(rng.random(len(rows)) < c.user_id_dropout, 0, self.users.index[u]),
                     self.users.gender[u], self.users.age[u], self.users.occupation[u]],
            "history": [history, np.where(real, self.stars[np.maximum(inputs, 0)], 0), (inputs > -2).astype("float32")],
            "positions": np.flatnonzero(keep.ravel()),  # [P] positions with a target, in the flattened [B*L]
            "label_col": np.searchsorted(classes, labels),  # [P] columns into "movies"
            "movies": [np.where(rng.random(len(classes)) < c.movie_id_dropout, 0, self.movies.index[classes]),
                       self.movies.genres[classes], self.movies.title[classes], self.movies.year[classes]],
        }  # fmt: skip
        if log_q is not None:  # sampled softmax (a full one needs no correction)
            batch["log_q"] = log_q
            batch["negative_col"] = np.searchsorted(classes, negatives)  # [N] columns of the negatives
            at = np.minimum(np.searchsorted(negatives, labels), len(negatives) - 1)
            batch["label_at"] = np.where(negatives[at] == labels, 1 + at, 0)  # [P] the label's logit (see train.py)
        return batch


def log_inclusion(p: np.ndarray, targets: int, shared: int, movies: int) -> np.ndarray:
    """log P(a movie is among a step's classes): ``targets`` draws from the target distribution (p = its share of the
    targets) and ``shared`` uniform draws over ``movies``, all with replacement. float32, <= 0."""
    with np.errstate(divide="ignore"):  # p = 1 (a one-movie catalogue): certain, log q = 0
        log_miss = targets * np.log1p(-p) + shared * np.log1p(-1.0 / movies)
        return np.log(-np.expm1(log_miss)).astype(np.float32)

"""The second stage: a LightGBM LambdaRank model that re-orders the two-tower's candidates with what the tower
does not see directly (co-ratings with the user's recent movies, popularity, release year, genre affinity,
history length, demographics).

Trained on the temporal holdout: the holdout model's top POOL movies per user are the candidates, the user's
held-out movies the labels. Two-fold cross-fitting over users measures it against the tower's own order on users
it never saw, and the pipeline serves it only when it wins there (``RankerReport.keep``): on some data the tower
already orders its candidates as well as the ranker can, and then the ranker would only cost time.
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path

import lightgbm as lgb
import numpy as np

from recommender.ml import metrics
from recommender.ml.data import Catalog, Dataset, Interactions, Users, lookup
from recommender.ml.encoder import user_histories
from recommender.ml.evaluate import group_rows, movie_vectors, top_k_ranking, user_batch
from recommender.ml.neighbours import ItemNeighbours
from recommender.ml.split import Split

POOL = 200  # candidates per user: the Milvus search the site serves from (user_state.POOL)
RECENT = 20  # co-rating score: summed over the user's most recent movies
FEATURES = ("tower_score", "co_rating", "popularity", "year", "genre_affinity", "history_length",
            "gender", "age", "occupation")  # fmt: skip
GENDERS = {"M": 1, "F": 2}  # anything else: 0
PARAMS = {"objective": "lambdarank", "learning_rate": 0.05, "num_leaves": 31, "min_data_in_leaf": 50,
          "bagging_fraction": 0.8, "bagging_freq": 1, "feature_fraction": 0.8, "lambdarank_truncation_level": 20,
          "verbose": -1, "deterministic": True, "force_row_wise": True}  # fmt: skip
ROUNDS = 150
MODEL_FILE, CONTEXT_FILE, REPORT_FILE = "ranker.txt", "ranker.npz", "ranker.json"


@dataclass
class RankContext:
    """The catalogue side of the features, row i for movie_ids[i]."""

    movie_ids: np.ndarray  # int64 [M]
    popularity: np.ndarray  # float32 [M] log(1 + ratings) - log(1 + the most ratings): the same scale on any data
    years: np.ndarray  # float32 [M], 0 = unknown
    genres: np.ndarray  # float32 [M, G] multi-hot
    neighbour_rows: np.ndarray  # int64 [M, k] co-rating neighbours' rows, -1 = none
    neighbour_scores: np.ndarray  # float32 [M, k] their cosines

    @classmethod
    def build(cls, catalog: Catalog, interactions: Interactions, neighbours: ItemNeighbours) -> RankContext:
        rows = lookup(catalog.movie_ids, interactions.movie_ids)
        counts = np.bincount(rows[rows >= 0], minlength=len(catalog)).astype(np.float64)
        names = sorted({g for gs in catalog.genres for g in gs})
        genres = np.array([[g in gs for g in names] for gs in catalog.genres], dtype=np.float32).reshape(
            len(catalog), -1
        )
        table = np.full((len(catalog), neighbours.neighbours.shape[1]), -1, dtype=np.int64)
        scores = np.zeros(table.shape, dtype=np.float32)
        have = lookup(neighbours.movie_ids, catalog.movie_ids)  # the table's row of each catalogue movie
        ok = have >= 0
        found = lookup(catalog.movie_ids, neighbours.neighbours[have[ok]].ravel()).reshape(-1, table.shape[1])
        table[ok] = np.where(neighbours.neighbours[have[ok]] >= 0, found, -1)
        scores[ok] = np.where(table[ok] >= 0, neighbours.scores[have[ok]], 0.0)
        return cls(
            movie_ids=catalog.movie_ids.astype(np.int64),
            popularity=(np.log1p(counts) - np.log1p(counts.max(initial=0.0))).astype(np.float32),
            years=catalog.years.astype(np.float32), genres=genres, neighbour_rows=table, neighbour_scores=scores,
        )  # fmt: skip

    def features(
        self, candidates: np.ndarray, tower_scores: np.ndarray, history: np.ndarray, user: tuple
    ) -> np.ndarray:
        """[C, len(FEATURES)] for one user: candidate rows (best tower score first) and their tower scores, the
        user's rated movies as rows (oldest first, -1 = unknown) and (gender, age, occupation)."""
        history = history[history >= 0]
        recent = history[-RECENT:]
        co = np.zeros(len(self.movie_ids), dtype=np.float32)
        near, sims = self.neighbour_rows[recent].ravel(), self.neighbour_scores[recent].ravel()
        np.add.at(co, near[near >= 0], sims[near >= 0])
        taste = self.genres[history].mean(axis=0) if len(history) else np.zeros(self.genres.shape[1], np.float32)
        g = self.genres[candidates]
        affinity = g @ taste / np.maximum(g.sum(axis=1), 1.0)
        gender, age, occupation = user
        c = len(candidates)
        return np.column_stack([
            tower_scores, co[candidates], self.popularity[candidates], self.years[candidates], affinity,
            np.full(c, np.log1p(len(history))), np.full(c, GENDERS.get(gender, 0)), np.full(c, age),
            np.full(c, occupation if occupation >= 0 else np.nan),  # unknown: missing, as LightGBM reads -1
        ]).astype(np.float32)  # fmt: skip
        # (LightGBM treats a negative category as missing but warns "Met negative value in categorical features"
        # from its OpenMP threads, where verbose=-1 does not reach: its log level is per thread)

    def save(self, directory: Path) -> None:
        with open(Path(directory) / CONTEXT_FILE, "wb") as f:
            np.savez(f, **asdict(self))

    @classmethod
    def load(cls, directory: Path) -> RankContext:
        with np.load(Path(directory) / CONTEXT_FILE, allow_pickle=False) as z:
            return cls(**{name: z[name] for name in z.files})


@dataclass
class RankerReport:
    """The cross-fitted holdout comparison the pipeline decides by (NDCG@10 / Recall@50 on the same users)."""

    users: int
    tower_ndcg10: float
    ranked_ndcg10: float
    tower_recall50: float
    ranked_recall50: float
    gain_se: float  # standard error of the per-user NDCG@10 gain
    keep: bool  # the gain is above one standard error


@dataclass
class Ranker:
    booster: lgb.Booster
    context: RankContext
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)  # web threads share one booster

    def reading(self, catalog: Catalog, interactions: Interactions, neighbours: ItemNeighbours) -> Ranker:
        """The same trees with their features read from other ratings (the served ranker reads every rating)."""
        return Ranker(self.booster, RankContext.build(catalog, interactions, neighbours))

    def order(self, candidates: np.ndarray, tower_scores: np.ndarray, history: np.ndarray, user: tuple):
        """(candidates re-ordered best first, their ranker scores)."""
        return self.order_many([(candidates, tower_scores, history, user)])[0]

    def order_many(self, queries: list[tuple]) -> list[tuple[np.ndarray, np.ndarray]]:
        """order() for several users' (candidates, tower_scores, history, user) with one prediction call (a call
        costs about a millisecond before its first row). One call at a time per booster: LightGBM serialises them
        anyway, and building its predictor from several threads races (LightGBM #6142)."""
        features = [self.context.features(*q) for q in queries if len(q[0])]
        if features:
            with self.lock:
                scores = self.booster.predict(np.vstack(features), num_threads=1)
        out, start = [], 0
        for candidates, tower_scores, _, _ in queries:
            score = scores[start : start + len(candidates)] if len(candidates) else tower_scores
            start += len(candidates)
            best = np.argsort(-score, kind="stable")
            out.append((candidates[best], score[best]))
        return out

    def save(self, directory: Path, report: RankerReport) -> None:
        self.booster.save_model(str(Path(directory) / MODEL_FILE))
        self.context.save(directory)
        (Path(directory) / REPORT_FILE).write_text(json.dumps(asdict(report)))

    @classmethod
    def load(cls, directory: str | Path) -> Ranker | None:
        """The saved ranker, or None when the model directory has none (not kept, or an older version)."""
        directory = Path(directory)
        if not (directory / MODEL_FILE).exists():
            return None
        return cls(lgb.Booster(model_file=str(directory / MODEL_FILE)), RankContext.load(directory))


def _fit(groups: list[tuple[np.ndarray, np.ndarray]], seed: int, threads: int) -> lgb.Booster:
    x = np.vstack([f for f, _ in groups])
    y = np.concatenate([label for _, label in groups])
    data = lgb.Dataset(x, y, group=[len(label) for _, label in groups], feature_name=list(FEATURES),
                       categorical_feature=["gender", "occupation"], free_raw_data=True)  # fmt: skip
    return lgb.train({**PARAMS, "seed": seed, "num_threads": threads}, data, num_boost_round=ROUNDS)


def fit_ranker(
    context: RankContext,
    users: Users,
    candidates: np.ndarray,
    tower_scores: np.ndarray,
    histories: list[np.ndarray],
    relevant: list[np.ndarray],
    *,
    seed: int = 0,
    threads: int = 2,
) -> tuple[Ranker, RankerReport]:
    """Fit on the holdout: candidates/tower_scores [U, POOL] (catalogue rows, best first), each user's train
    history as rows and held-out rows. The report cross-fits two folds of users; the ranker returned is fitted
    on all of them."""
    groups = []
    for i in range(len(users)):
        user = (users.genders[i], int(users.ages[i]), int(users.occupations[i]))
        features = context.features(candidates[i], tower_scores[i], histories[i], user)
        groups.append((features, np.isin(candidates[i], relevant[i]).astype(np.int32)))
    n_rel = np.array([max(len(r), 1) for r in relevant])
    fold = np.random.default_rng(seed).integers(0, 2, len(users))
    ranked = candidates.copy()
    for k in (0, 1):
        fit, held = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
        if len(fit) == 0 or len(held) == 0:
            continue
        booster = _fit([groups[i] for i in fit], seed, threads)
        for i in held:
            ranked[i] = candidates[i][np.argsort(-booster.predict(groups[i][0], num_threads=threads), kind="stable")]
    tower_hits = np.stack([np.isin(c, r) for c, r in zip(candidates, relevant, strict=True)])
    ranked_hits = np.stack([np.isin(c, r) for c, r in zip(ranked, relevant, strict=True)])
    gain = metrics.ndcg_at_k(ranked_hits, n_rel, 10) - metrics.ndcg_at_k(tower_hits, n_rel, 10)
    se = metrics.standard_error(gain)
    report = RankerReport(
        users=len(users),
        tower_ndcg10=float(metrics.ndcg_at_k(tower_hits, n_rel, 10).mean()),
        ranked_ndcg10=float(metrics.ndcg_at_k(ranked_hits, n_rel, 10).mean()),
        tower_recall50=float(metrics.recall_at_k(tower_hits, n_rel, 50).mean()),
        ranked_recall50=float(metrics.recall_at_k(ranked_hits, n_rel, 50).mean()),
        gain_se=se,
        keep=bool(gain.mean() > se),
    )
    return Ranker(_fit(groups, seed, threads), context), report


def fit_holdout_ranker(
    model, dataset: Dataset, split: Split, *, max_users: int, seed: int = 0, threads: int = 2
) -> tuple[Ranker, RankerReport]:
    """The ranker of a holdout model: candidates are the model's top POOL movies for (a sample of at most
    ``max_users``, 0 = all) holdout users from their split.train ratings; features read split.train only
    (co-ratings and popularity included), labels are the held-out movies."""
    catalog = dataset.catalog
    train_rows = lookup(catalog.movie_ids, split.train.movie_ids)
    held_out = group_rows(split.test, lookup(catalog.movie_ids, split.test.movie_ids))
    user_ids = np.array(sorted(held_out), dtype=np.int64)
    if 0 < max_users < len(user_ids):
        user_ids = np.sort(np.random.default_rng(seed).choice(user_ids, size=max_users, replace=False))
    context = RankContext.build(catalog, split.train, ItemNeighbours.fit(split.train, catalog))
    histories = user_histories(split.train, user_ids)
    users = dataset.users.select(user_ids)
    user_vecs = model.user_vectors(users, histories)
    movie_vecs = movie_vectors(model, catalog)
    pool, batch = min(POOL, len(catalog)), user_batch(len(catalog))  # [batch, M] scores at a time, never [U, M]
    seen = group_rows(split.train, train_rows)
    candidates, tower_scores = top_k_ranking(
        lambda ids: user_vecs[lookup(user_ids, ids)] @ movie_vecs.T, user_ids, seen, pool, batch, with_scores=True
    )  # the candidates' scores (float32, as the vectors) as ranked: one pass over [users, catalogue]
    history_rows = [lookup(catalog.movie_ids, h[0]) for h in histories]
    relevant = [held_out[int(u)] for u in user_ids]
    return fit_ranker(context, users, candidates, tower_scores, history_rows, relevant, seed=seed, threads=threads)

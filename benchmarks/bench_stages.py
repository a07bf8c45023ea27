"""Would a second stage help? Candidate sources and a learned ranker over the two-tower model, on real ML-100K.

    python -m benchmarks.bench_stages [--seed 0] [--no-write]

The holdout two-tower model (fitted on the train part of the per-user temporal split) is the first stage.
Candidate sources, each measured by recall@200 on the held-out part (train movies excluded):
  tower           the user vector's nearest movies (what is served today)
  neighbours      Σ co-rating cosine to the user's 20 most recent movies (Amazon's item-to-item / ItemKNN)
  multi-interest  4 interest vectors per user (k-means over the user's last 50 movie vectors, MIND-style),
                  each searched, merged by best cosine
  popular         most rated
Second stage: LightGBM LambdaRank over the merged candidates (top 80 of each source) with features the tower
cannot see (co-rating scores, popularity, year, the user's genre affinity, history length, demographics, each
source's rank), trained and scored by 2-fold cross-fitting over the test users (never on its own labels).
Writes the "stages" section of docs/benchmarks.md: the ablation table that decides what is served.
"""

from __future__ import annotations

import lightgbm as lgb
import numpy as np

from benchmarks.movielens100k import holdout_run
from benchmarks.report import write_section
from recommender.ml import metrics
from recommender.ml.encoder import user_histories
from recommender.ml.evaluate import catalog_index, group_rows
from recommender.ml.neighbours import ItemNeighbours

POOL, PER_SOURCE, RECENT, INTERESTS = 200, 80, 20, 4
RANKER = {"objective": "lambdarank", "learning_rate": 0.05, "num_leaves": 31, "min_data_in_leaf": 50,
          "bagging_fraction": 0.8, "bagging_freq": 1, "feature_fraction": 0.8, "verbose": -1,
          "num_threads": 2}  # fmt: skip


def kmeans(x: np.ndarray, k: int, iters: int = 10, seed: int = 0) -> np.ndarray:
    """Spherical k-means centroids of unit rows x [N, D] -> [min(k, N), D]."""
    if len(x) <= k:
        return x
    centres = x[np.random.default_rng(seed).choice(len(x), k, replace=False)]
    for _ in range(iters):
        assign = np.argmax(x @ centres.T, axis=1)
        for j in range(k):
            if (assign == j).any():
                c = x[assign == j].mean(axis=0)
                centres[j] = c / (np.linalg.norm(c) + 1e-9)
    return centres


def main() -> None:
    args, ds, split, model = holdout_run(__doc__.splitlines()[0])
    cat, m = ds.catalog, len(ds.catalog)
    users = np.unique(split.test.user_ids)
    hist = user_histories(split.train, users)
    hist_rows = [catalog_index(cat, h[0]) for h in hist]
    user_vecs, movie_vecs = model.user_vectors(ds.users.select(users), hist), model.movie_vectors(cat)
    train_rows = catalog_index(cat, split.train.movie_ids)
    seen = np.zeros((len(users), m), dtype=bool)
    for i, rows in enumerate(hist_rows):
        seen[i, rows[rows >= 0]] = True
    relevant = [group_rows(split.test, catalog_index(cat, split.test.movie_ids))[int(u)] for u in users]
    popularity = np.bincount(train_rows[train_rows >= 0], minlength=m).astype(np.float64)
    table = ItemNeighbours.fit(split.train, cat, k=100)
    co = np.zeros((m, m), dtype=np.float32)  # dense co-rating cosine from the top-100 table
    for i in range(m):
        ok = table.neighbours[i] >= 0
        co[i, catalog_index(cat, table.neighbours[i][ok])] = table.scores[i][ok]
    scores = {
        "tower": user_vecs @ movie_vecs.T,
        "neighbours": np.stack([co[r[r >= 0][-RECENT:]].sum(axis=0) for r in hist_rows]),
        "multi-interest": np.stack(
            [
                (kmeans(movie_vecs[r[r >= 0][-50:]], INTERESTS) @ movie_vecs.T).max(axis=0)
                if (r >= 0).any()
                else user_vecs[i] @ movie_vecs.T
                for i, r in enumerate(hist_rows)
            ]
        ),  # fmt: skip
        "popular": np.tile(np.log1p(popularity), (len(users), 1)),
    }
    top = {name: np.argsort(-np.where(seen, -np.inf, s), axis=1)[:, :POOL] for name, s in scores.items()}

    def recall(lists) -> float:
        return float(np.mean([len(set(lst) & set(r)) / len(r) for lst, r in zip(lists, relevant, strict=True)]))

    def merged(names: list[str], per: int) -> list[np.ndarray]:
        return [
            np.array(list(dict.fromkeys(np.concatenate([top[n][i][:per] for n in names])))) for i in range(len(users))
        ]

    def quality(lists) -> tuple[float, float, float]:
        tops = np.stack([lst[:50] for lst in lists])
        hits = np.stack([np.isin(t, r) for t, r in zip(tops, relevant, strict=True)])
        n_rel = np.array([len(r) for r in relevant])
        return (float(metrics.ndcg_at_k(hits, n_rel, 10).mean()), float(metrics.recall_at_k(hits, n_rel, 50).mean()),
                metrics.coverage_at_k(tops, m, 50))  # fmt: skip

    source_lines = ["| source | recall@50 | recall@200 |", "|---|---|---|"]
    source_lines += [f"| {n} | {recall(t[:, :50]):.3f} | {recall(t):.3f} |" for n, t in top.items()]
    steps = [["tower"], ["tower", "neighbours"], ["tower", "neighbours", "multi-interest"],
             ["tower", "neighbours", "multi-interest", "popular"]]  # fmt: skip
    union_lines = ["| candidates (top 80 of each) | size | recall |", "|---|---|---|"]
    for names in steps[1:]:
        lists = merged(names, PER_SOURCE)
        union_lines.append(f"| {' + '.join(names)} | {np.mean([len(x) for x in lists]):.0f} | {recall(lists):.3f} |")

    cands = merged(steps[-1], PER_SOURCE)
    genre_names = sorted({g for gs in cat.genres for g in gs})
    genres = np.array([[g in gs for g in genre_names] for gs in cat.genres], dtype=np.float32)
    static = model.encoder.encode_users(ds.users.select(users), [])
    rank_of = {n: np.full((len(users), m), POOL, dtype=np.float32) for n in top}
    for n, t in top.items():
        np.put_along_axis(rank_of[n], t, np.arange(POOL, dtype=np.float32)[None, :], axis=1)
    features, labels = [], []
    for i, c in enumerate(cands):
        rows = hist_rows[i][hist_rows[i] >= 0]
        affinity = genres[rows].mean(axis=0) if len(rows) else np.zeros(len(genre_names))
        features.append(np.column_stack([
            scores["tower"][i, c], scores["neighbours"][i, c], scores["multi-interest"][i, c], np.log1p(popularity[c]),
            cat.years[c], genres[c] @ affinity / np.maximum(genres[c].sum(axis=1), 1),
            np.full(len(c), np.log1p(len(rows))),
            np.full(len(c), static.gender[i]), np.full(len(c), static.age[i]), np.full(len(c), static.occupation[i]),
            *[rank_of[n][i, c] for n in top],
        ]))  # fmt: skip
        labels.append(np.isin(c, relevant[i]).astype(np.int32))
    fold = np.random.default_rng(args.seed).integers(0, 2, len(users))
    ranked: list = [None] * len(users)
    for k in (0, 1):
        fit, held = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
        data = lgb.Dataset(np.vstack([features[i] for i in fit]), np.concatenate([labels[i] for i in fit]),
                           group=[len(cands[i]) for i in fit])  # fmt: skip
        booster = lgb.train(RANKER, data, num_boost_round=300)
        for i in held:
            ranked[i] = cands[i][np.argsort(-booster.predict(features[i]))]
    rows = [
        ("retrieval only: tower (served)", [t for t in top["tower"]]),
        ("+ LightGBM LambdaRank over all sources", ranked),
    ]
    ablation = ["| stage | NDCG@10 | Recall@50 | coverage@50 |", "|---|---|---|---|"]
    ablation += [f"| {name} | {q[0]:.4f} | {q[1]:.4f} | {q[2]:.3f} |" for name, lists in rows for q in [quality(lists)]]
    tower_hits = np.stack([np.isin(t[:50], r) for t, r in zip(top["tower"], relevant, strict=True)])
    se = metrics.standard_error(metrics.ndcg_at_k(tower_hits, np.array([len(r) for r in relevant]), 10))
    body = (
        f"Real MovieLens 100K, per-user temporal split, {len(users)} users, seed {args.seed}; holdout two-tower "
        f"model as the first stage. Standard error of NDCG@10 across users ≈ {se:.3f}.\n\n"
        + "\n".join(source_lines) + "\n\n" + "\n".join(union_lines) + "\n\n" + "\n".join(ablation) + "\n"
    )  # fmt: skip
    print(body)
    if not args.no_write:
        write_section("stages", "Second stage: candidate sources and a learned ranker (ML-100K)",
                      f"python -m benchmarks.bench_stages --seed {args.seed}", body)  # fmt: skip


if __name__ == "__main__":
    main()

"""Similar movies on real MovieLens 100K: co-ratings vs movie vectors vs the served blend, and a few lists to read.

    python -m benchmarks.bench_similar [--seed 0] [--no-write]

Metric (issue #10): per test user of the temporal split, the query is the last movie the user rated in train; a hit
is any of the user's held-out movies in similar@10. The model is the holdout model (fitted on the train part) and
the co-ratings are counted on the train part; the served path blends the same two lists with the same function.
Writes the "similar" section of docs/benchmarks.md.
"""

from __future__ import annotations

import numpy as np

from benchmarks.movielens100k import holdout_run
from benchmarks.report import write_section
from recommender.ml.data import Interactions
from recommender.ml.neighbours import ItemNeighbours, blend

POOL, K = 50, 10
SHOWN = ("Star Wars (1977)", "Toy Story (1995)", "Godfather, The (1972)", "Fargo (1996)", "Scream (1996)")


def similar_hit_rate(similar, train: Interactions, test: Interactions, k: int = 10) -> dict:
    """How well "similar to the last movie you rated" predicts: per test user, the query is the user's last movie
    in ``train`` and a hit is any of the user's ``test`` movies among ``similar(query)[:k]`` (movie ids).

    Returns {"hit@k", "hit@k_se", "users"}; ``similar`` maps a movie id to a ranked list of movie ids.
    """
    order = np.lexsort((train.movie_ids, train.timestamps, train.user_ids))
    users, last = np.unique(train.user_ids[order][::-1], return_index=True)  # first in reversed order = newest
    query = dict(zip(users.tolist(), train.movie_ids[order][::-1][last].tolist(), strict=True))
    held: dict[int, set[int]] = {}
    for u, m in zip(test.user_ids.tolist(), test.movie_ids.tolist(), strict=True):
        held.setdefault(u, set()).add(m)
    hits = np.array([bool(held[u] & set(similar(query[u])[:k])) for u in sorted(held) if u in query], dtype=float)
    se = float(hits.std(ddof=1) / np.sqrt(len(hits))) if len(hits) > 1 else 0.0
    return {f"hit@{k}": float(hits.mean()) if len(hits) else 0.0, f"hit@{k}_se": se, "users": len(hits)}


def main() -> None:
    args, dataset, split, model = holdout_run(__doc__.splitlines()[0])
    ids = dataset.catalog.movie_ids
    vectors = model.movie_vectors(dataset.catalog)
    row_of = {int(m): i for i, m in enumerate(ids)}
    table = ItemNeighbours.fit(split.train, dataset.catalog, k=POOL)

    def by_vector(movie_id: int) -> list[tuple[int, float]]:
        sims = vectors @ vectors[row_of[movie_id]]
        sims[row_of[movie_id]] = -np.inf
        best = np.argsort(-sims)[:POOL]
        return [(int(ids[i]), float(sims[i])) for i in best]

    methods = {
        "item-item cosine (co-ratings)": lambda m: [x for x, _ in table.of(m)],
        "movie vectors (two-tower)": lambda m: [x for x, _ in by_vector(m)],
        "**served**: rank fusion of both": lambda m: [x for x, _ in blend(table.of(m), by_vector(m), POOL)],
    }
    scores = {name: similar_hit_rate(fn, split.train, split.test, k=K) for name, fn in methods.items()}
    base = scores["item-item cosine (co-ratings)"][f"hit@{K}"]
    lines = ["| method | hit@10 | ± se | vs item-item |", "|---|---|---|---|"]
    for name, s in scores.items():
        lines.append(f"| {name} | {s[f'hit@{K}']:.3f} | {s[f'hit@{K}_se']:.3f} | {s[f'hit@{K}'] / base:.2f} × |")
    title_of = dict(zip(ids.tolist(), dataset.catalog.titles, strict=True))
    shown = []
    for title in SHOWN:
        movie = next((m for m, t in title_of.items() if t == title), None)
        if movie is not None:
            served = [title_of[x] for x, _ in blend(table.of(movie), by_vector(movie), 8)]
            shown.append(f"- **{title}**: " + "; ".join(served))
    body = (
        f"Real MovieLens 100K, per-user temporal split, {scores[next(iter(scores))]['users']} users; seed "
        f"{args.seed}. Query = each user's last train movie; hit = a held-out movie in the top {K}.\n\n"
        + "\n".join(lines)
        + "\n\nServed lists (top 8, train part only):\n\n"
        + "\n".join(shown)
        + "\n"
    )
    print(body)
    if not args.no_write:
        command = f"python -m benchmarks.bench_similar --seed {args.seed}"
        write_section("similar", "Similar movies (ML-100K)", command, body)


if __name__ == "__main__":
    main()

"""The holdout two-tower model vs baselines on real MovieLens 100K (DESIGN.md §5) — the in-package figure, not
what is served (benchmarks/bench_served.py scores that) — plus training time at 100K and ML-1M size.

    python -m benchmarks.bench_model [--seeds 3] [--skip-1m] [--sweep | --sweep-only]

Writes the "model" section of docs/benchmarks.md (and "model-sweep" with --sweep) and prints the tables.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.movielens100k import load_ml100k
from benchmarks.report import write_section
from recommender.ml.baselines import evaluate_baselines
from recommender.ml.config import load_config
from recommender.ml.data import AGE_BUCKETS, Catalog, Dataset, Interactions, Users
from recommender.ml.evaluate import evaluate_model
from recommender.ml.split import temporal_split
from recommender.ml.train import train

KS = (10, 20, 50)
COLUMNS = [f"{m}@{k}" for m in ("recall", "ndcg", "hit", "precision") for k in KS] + ["coverage@50", "mean_pop@10"]
SWEEP = [{}, {"batch_size": 64}, {"max_history": 50}, {"attention_blocks": 1}, {"use_user_id": False},
         {"negatives": 512}, {"temperature": 0.1}, {"dropout": 0.0}]  # fmt: skip


def run_model(dataset: Dataset, split, **overrides) -> tuple[dict, dict]:
    """Train one model and evaluate it on the test split: (metrics, timing)."""
    config = load_config(**overrides)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        result = train(dataset, split, config, Path(out))
    total = time.perf_counter() - started
    per_epoch = float(np.mean([row["seconds"] for row in result.curve]))
    timing = {"epochs": len(result.curve), "best_epoch": result.best_epoch, "per_epoch_s": per_epoch, "total_s": total}
    return evaluate_model(result.model, dataset, split, KS), timing


def row(name: str, runs: list[dict]) -> str:
    """Markdown row: mean over runs, ± standard deviation when there are several."""
    cells = []
    for col in COLUMNS:
        values = np.array([r[col] for r in runs])
        fmt = "{:.1f}" if col.startswith("mean_pop") else "{:.3f}"
        cell = fmt.format(values.mean())
        cells.append(cell + (" ± " + fmt.format(values.std(ddof=1)) if len(values) > 1 else ""))
    return f"| {name} | " + " | ".join(cells) + " |"


def table(rows: list[str]) -> str:
    header = "| method | " + " | ".join(COLUMNS) + " |\n|---|" + "---|" * len(COLUMNS)
    return header + "\n" + "\n".join(rows)


def synthetic_ml1m(seed: int = 0) -> Dataset:
    """ML-1M-sized random data: 6,040 users × 3,883 movies × 1,000,209 ratings, Zipf-like movie popularity."""
    rng = np.random.default_rng(seed)
    n_users, n_movies, n_ratings = 6040, 3883, 1_000_209
    movie_p = 1.0 / np.arange(1, n_movies + 1) ** 0.9
    activity = rng.pareto(1.2, n_users) + 1.0
    per_user = np.maximum(20, np.round(activity / activity.sum() * n_ratings)).astype(np.int64)
    per_user = np.minimum(per_user, n_movies // 2)
    while (diff := n_ratings - int(per_user.sum())) != 0:  # nudge counts one by one to the exact total
        pool = np.flatnonzero(per_user < n_movies // 2) if diff > 0 else np.flatnonzero(per_user > 20)
        per_user[pool[: abs(diff)]] += np.sign(diff)
    user_col, movie_col = [], []
    for u, n in enumerate(per_user):
        movies = rng.choice(n_movies, size=int(n), replace=False, p=movie_p / movie_p.sum())
        user_col.append(np.full(len(movies), u + 1))
        movie_col.append(movies + 1)
    users = np.concatenate(user_col)
    genres = ["Action", "Comedy", "Drama", "Romance", "Thriller", "Horror", "Sci-Fi"]
    catalog = Catalog(
        np.arange(1, n_movies + 1, dtype=np.int64),
        [f"Movie {i} part {i % 7} ({1930 + i % 70})" for i in range(n_movies)],
        [[genres[i % 7], genres[(i * 3) % 7]] for i in range(n_movies)],
        (1930 + np.arange(n_movies) % 70).astype(np.int32),
    )
    profiles = Users(
        np.arange(1, n_users + 1, dtype=np.int64),
        ["M" if i % 3 else "F" for i in range(n_users)],
        rng.choice(AGE_BUCKETS, n_users).astype(np.int32),
        rng.integers(0, 21, n_users).astype(np.int32),
    )
    ratings = Interactions(
        users, np.concatenate(movie_col), rng.integers(1, 6, len(users)).astype(np.float32),
        956_703_932 + rng.integers(0, 3 * 10**7, len(users)),
    )  # fmt: skip
    return Dataset(catalog, profiles, ratings)


def time_ml1m(epochs: int) -> dict:
    """Training time at ML-1M size (random data, so only the time is meaningful)."""
    dataset = synthetic_ml1m()
    split = temporal_split(dataset.interactions)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        result = train(dataset, split, load_config(epochs=epochs, patience=epochs), Path(out))
    total = time.perf_counter() - started
    per_epoch = float(np.mean([row["seconds"] for row in result.curve]))
    return {"train_ratings": len(split.train), "epochs": epochs, "per_epoch_s": per_epoch, "total_s": total}


def bars(model: dict, baselines: dict[str, dict]) -> str:
    """The issue's bars: NDCG@10 and Recall@50 >= 95% of the best baseline, coverage@50 above EASE's."""
    lines = []
    for metric in ("ndcg@10", "recall@50"):
        best = max(baselines, key=lambda n: baselines[n][metric])
        ok = model[metric] >= 0.95 * baselines[best][metric]
        lines.append(f"- {metric}: {model[metric]:.3f} vs best baseline {best} {baselines[best][metric]:.3f} "
                     f"({model[metric] / baselines[best][metric]:.0%}): {'PASS' if ok else 'FAIL'}")  # fmt: skip
    ok = model["coverage@50"] > baselines["EASE"]["coverage@50"]
    lines.append(f"- coverage@50: {model['coverage@50']:.3f} vs EASE {baselines['EASE']['coverage@50']:.3f}: "
                 f"{'PASS' if ok else 'FAIL'}")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--skip-1m", action="store_true")
    parser.add_argument("--sweep", action="store_true", help="also run the hyper-parameter sweep (seed 0)")
    parser.add_argument("--sweep-only", action="store_true", help="run only the sweep (keeps the main section)")
    args = parser.parse_args()
    dataset = load_ml100k()
    split = temporal_split(dataset.interactions)
    if args.sweep_only:
        return run_sweep(dataset, split)
    baselines = evaluate_baselines(split, dataset.catalog, ks=KS)
    runs, timings = [], []
    for seed in range(args.seeds):
        metrics, timing = run_model(dataset, split, seed=seed)
        runs.append(metrics)
        timings.append(timing)
        print(
            f"seed {seed}: ndcg@10 {metrics['ndcg@10']:.3f} recall@50 {metrics['recall@50']:.3f} {timing}", flush=True
        )
    mean = {k: float(np.mean([r[k] for r in runs])) for k in COLUMNS}
    rows = [row(f"two-tower holdout model, attention over the history ({args.seeds} seeds)", runs)]
    rows += [row(name, [m]) for name, m in baselines.items()]
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    timing_lines = [
        "| run | ratings (train) | epochs | s / epoch | total s |",
        "|---|---|---|---|---|",
        *(f"| ML-100K two-tower seed {i} | {len(split.train)} | {t['epochs']} (best {t['best_epoch']}) | "
          f"{t['per_epoch_s']:.1f} | {t['total_s']:.0f} |" for i, t in enumerate(timings)),
    ]  # fmt: skip
    if not args.skip_1m:
        t1m = time_ml1m(epochs=2)
        timing_lines.append(f"| ML-1M-size synthetic (timing only) | {t1m['train_ratings']} | {t1m['epochs']} | "
                            f"{t1m['per_epoch_s']:.1f} | {t1m['total_s']:.0f} |")  # fmt: skip
    config = load_config()
    body = (
        "Real MovieLens 100K, per-user temporal split (last 20%, users with ≥ 5 ratings), full ranking, train movies "
        f"excluded, relevant = every held-out movie; {runs[0]['users']} users. Two-tower: mean ± std over seeds. "
        "mean_pop@10 = mean number of train ratings of the recommended movies.\n\n"
        + table(rows) + "\n\nBars (two-tower mean):\n" + bars(mean, baselines)
        + f"\n\nNDCG@10 with relevance = rating ≥ 4: two-tower {np.mean([r['ndcg@10_pos4'] for r in runs]):.3f}, "
        + ", ".join(f"{n} {m['ndcg@10_pos4']:.3f}" for n, m in baselines.items())
        + f". Standard error of NDCG@10 across users ≈ {runs[0]['ndcg@10_se']:.3f}.\n\n"
        f"Training time, Paddle CPU, {config.threads} threads, {config.batch_size} windows per step, early stopping "
        f"(patience {config.patience}, max {config.epochs} epochs); load average during the run {load}:\n\n"
        + "\n".join(timing_lines)
    )  # fmt: skip
    print(table(rows), "\n", bars(mean, baselines), "\n", "\n".join(timing_lines))
    title = "In-package: two-tower holdout model vs baselines (ML-100K; not the served path)"
    write_section("model", title, "python -m benchmarks.bench_model", body)
    if args.sweep:
        run_sweep(dataset, split)


def run_sweep(dataset, split) -> None:
    """One seed per variant of the defaults (one switch at a time): the measurements behind config.toml."""
    rows, times = [], []
    for overrides in SWEEP:
        label = ", ".join(f"{k}={v}" for k, v in overrides.items()) or "defaults"
        metrics, timing = run_model(dataset, split, **overrides)
        rows.append(row(label, [metrics]))
        times.append(f"| {label} | {timing['epochs']} (best {timing['best_epoch']}) | {timing['total_s']:.0f} |")
        print(rows[-1], timing, flush=True)
    body = (
        table(rows) + "\n\n| variant | epochs | training s |\n|---|---|---|\n" + "\n".join(times)
        + f"\n\nLoad average at the end: {' / '.join(f'{x:.1f}' for x in os.getloadavg())}."
    )  # fmt: skip
    write_section("model-sweep", "Two-tower hyper-parameter sweep (ML-100K, seed 0)",
                  "python -m benchmarks.bench_model --sweep-only", body)  # fmt: skip
    print(body)


if __name__ == "__main__":
    main()

"""How many negatives the sampled softmax needs: holdout quality and training time per choice of negatives.

    python -m benchmarks.bench_negatives [--variants 0:1024,1024:1024,512:512] [--seeds 0 1]
                                         [--movies 62000] [--skip-62k] [--skip-100k] [--no-report]

A variant is ``in_batch:uniform``: config in_batch_negatives (negatives drawn from the step's own targets; 0 = every
target, the sampled softmax as first built) and negatives (shared uniform draws). Two data sets, each in-package
(recommender.ml.train, no Django), the holdout model's metrics on every held-out user:

- synthetic, catalogue size: 6,040 users, --movies movies, 1,000,209 ratings (benchmarks/scale_pipeline's generator,
  the data of bench_scale's catalogue phase), one epoch, as train_model's first epoch there;
- real MovieLens 100K (../shared/datasets/ml-100k) with the sampled path forced (full_softmax_max_movies = 0), the
  default config otherwise (early stopping), beside the full softmax that ML-100K trains with.

Prints one row per variant and seed, then writes section "negatives" of docs/benchmarks.md (means over the seeds).
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
from benchmarks.scale_pipeline import synthetic_dataset
from recommender.ml.config import load_config
from recommender.ml.split import temporal_split
from recommender.ml.train import train

ML1M_SHAPE = (6040, 1_000_209)


def run(dataset, split, **overrides) -> dict:
    config = load_config(**overrides)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        result = train(dataset, split, config, Path(out))
    return {
        "ndcg@10": result.val_metrics["ndcg@10"],
        "recall@50": result.val_metrics["recall@50"],
        "epochs": len(result.curve),
        "train_s_per_epoch": float(np.mean([row["seconds"] for row in result.curve])),
        "total_s": time.perf_counter() - started,
    }


def variant_overrides(variant: str) -> dict:
    if variant == "full":
        return {}
    in_batch, uniform = (int(part) for part in variant.split(":"))
    return {"in_batch_negatives": in_batch, "negatives": uniform}


def label(variant: str) -> str:
    if variant == "full":
        return "full softmax"
    in_batch, uniform = variant.split(":")
    return f"{'all' if in_batch == '0' else in_batch} in-batch + {uniform} uniform"


def table(results: dict[str, list[dict]], time_column: str) -> str:
    lines = [f"| negatives | NDCG@10 | Recall@50 | {time_column} | seeds |", "|---|---|---|---|---|"]
    for variant, runs in results.items():
        ndcg, recall = np.array([r["ndcg@10"] for r in runs]), np.array([r["recall@50"] for r in runs])
        spread = lambda v: f" ± {v.std(ddof=1):.3f}" if len(v) > 1 else ""  # noqa: E731
        seconds = np.median([r["train_s_per_epoch"] for r in runs])
        lines.append(f"| {label(variant)} | {ndcg.mean():.3f}{spread(ndcg)} | {recall.mean():.3f}{spread(recall)} | "
                     f"{seconds:.0f} s | {len(runs)} |")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default="0:1024,1024:1024,512:512")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--movies", type=int, default=62_000)
    parser.add_argument("--skip-62k", action="store_true")
    parser.add_argument("--skip-100k", action="store_true")
    parser.add_argument("--no-report", action="store_true")
    args = parser.parse_args()
    variants = args.variants.split(",")
    sections = []
    load = [os.getloadavg()[0]]
    if not args.skip_62k:
        users, ratings = ML1M_SHAPE
        dataset = synthetic_dataset(users, args.movies, ratings)
        split = temporal_split(dataset.interactions)
        results: dict[str, list[dict]] = {v: [] for v in variants}
        for seed in args.seeds:
            for variant in variants:  # alternating, so load changes fall on every variant alike
                r = run(dataset, split, seed=seed, epochs=1, **variant_overrides(variant))
                results[variant].append(r)
                print(f"{args.movies} movies, {label(variant)}, seed {seed}: {r}", flush=True)
                load.append(os.getloadavg()[0])
        sections.append(
            f"Synthetic: {users:,} users, {args.movies:,} movies, {ratings:,} ratings (scale_pipeline's generator), "
            f"one epoch, holdout metrics over every held-out user; training seconds per epoch (median over the "
            f"seeds):\n\n{table(results, 'training s / epoch')}"
        )
    if not args.skip_100k:
        dataset = load_ml100k()
        split = temporal_split(dataset.interactions)
        results = {v: [] for v in ["full", *variants]}
        for seed in args.seeds:
            for variant in results:
                forced = {} if variant == "full" else {"full_softmax_max_movies": 0}
                r = run(dataset, split, seed=seed, **forced, **variant_overrides(variant))
                results[variant].append(r)
                print(f"ML-100K, {label(variant)}, seed {seed}: {r}", flush=True)
                load.append(os.getloadavg()[0])
        sections.append(
            "Real MovieLens 100K (1,682 movies), the sampled path forced for every row but the first, the default "
            "config (early stopping on the holdout), holdout metrics over every held-out user:\n\n"
            + table(results, "training s / epoch")
        )
    body = "\n\n".join(sections) + f"\n\nLoad average (1 min) during the run: {min(load):.1f}–{max(load):.1f}.\n"
    print(body)
    if not args.no_report:
        command = "python -m benchmarks.bench_negatives " + " ".join(
            [f"--variants {args.variants}", "--seeds " + " ".join(map(str, args.seeds))]
            + (["--skip-62k"] if args.skip_62k else []) + (["--skip-100k"] if args.skip_100k else [])
        )  # fmt: skip
        print(write_section("negatives", "Sampled softmax: how many negatives", command, body))


if __name__ == "__main__":
    main()

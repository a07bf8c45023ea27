"""How many negatives the sampled softmax needs: holdout quality and training time per choice of negatives.

    python -m benchmarks.bench_negatives [--variants 0:1024,1024:1024,512:512] [--seeds 0 1]
                                         [--movies 62000] [--skip-62k] [--skip-100k] [--no-report]
    python -m benchmarks.bench_negatives --from-log RUN.log   # the report from the rows a run printed

A variant is ``in_batch:uniform[:step_targets[:lazy_user_ids_from]]``: config in_batch_negatives (negatives drawn
from the step's own targets; 0 = every target, the sampled softmax as first built), negatives (shared uniform draws)
and, optionally, step_targets (steps of more targets cut into smaller ones; 0 or absent = never) and
lazy_user_ids_from (user-id tables of this many rows or more train with lazy Adam; 0 or absent = never, 1 = always).
Two data sets, each in-package (recommender.ml.train, no Django), the holdout model's metrics on every held-out user:

- synthetic, catalogue size: 6,040 users, --movies movies, 1,000,209 ratings (benchmarks/scale_pipeline's generator,
  the data of bench_scale's catalogue phase), one epoch, as train_model's first epoch there;
- real MovieLens 100K (../shared/datasets/ml-100k) with the sampled path forced (full_softmax_max_movies = 0), the
  default config otherwise (early stopping), beside the full softmax that ML-100K trains with.

Variants alternate within each seed, so load changes fall on all of them alike. Prints one row per variant and
seed, then writes section "negatives" of docs/benchmarks.md (means ± standard deviation over the seeds).
"""

from __future__ import annotations

import argparse
import ast
import os
import re
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

USERS, RATINGS = 6040, 1_000_209  # ML-1M's users and ratings
ROW = re.compile(r"^(ML-100K|[\d,]+ movies), (.+), seed (\d+): (\{.*\})$")


def run(dataset, split, **overrides) -> dict:
    config = load_config(**overrides)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        result = train(dataset, split, config, Path(out))
    return {
        "ndcg@10": result.val_metrics["ndcg@10"],
        "recall@50": result.val_metrics["recall@50"],
        "rounds": len(result.curve),  # holdout reads (train.EpochPlan): an epoch on ML-100K, 1/4 of one at 1M
        "train_s": float(sum(row["seconds"] for row in result.curve)),
        "total_s": time.perf_counter() - started,
    }


def overrides_of(variant: str) -> dict:
    if variant == "full":
        return {}
    in_batch, uniform, most, lazy = [*(int(part) for part in variant.split(":")), 0, 0][:4]
    return {"in_batch_negatives": in_batch, "negatives": uniform, "step_targets": most, "lazy_user_ids_from": lazy}


def label_of(variant: str) -> str:
    if variant == "full":
        return "full softmax"
    in_batch, uniform, most, lazy = [*(int(part) for part in variant.split(":")), 0, 0][:4]
    steps = f", steps above {most:,} targets cut" if most else ""
    lazy_ids = f", user ids lazy from {lazy:,} rows" if lazy else ""
    return f"{'all' if in_batch == 0 else in_batch} in-batch + {uniform} uniform{steps}{lazy_ids}"


def table(results: dict[str, list[dict]], time_column: str, per_epoch: bool) -> str:
    """One row per variant label: mean ± sd of the metrics, median training seconds (per epoch: / rounds)."""
    lines = [f"| negatives | NDCG@10 | Recall@50 | {time_column} | seeds |", "|---|---|---|---|---|"]
    for name, runs in results.items():
        cells = []
        for metric in ("ndcg@10", "recall@50"):
            values = np.array([r[metric] for r in runs])
            cells.append(f"{values.mean():.3f}" + (f" ± {values.std(ddof=1):.3f}" if len(values) > 1 else ""))
        seconds = np.median([r["train_s"] / r["rounds"] if per_epoch else r["train_s"] for r in runs])
        lines.append(f"| {name} | {cells[0]} | {cells[1]} | {seconds:.0f} s | {len(runs)} |")
    return "\n".join(lines)


def body(synthetic: dict, ml100k: dict, movies: int, load: list[float]) -> str:
    sections = []
    if synthetic:
        sections.append(
            f"Synthetic: {USERS:,} users, {movies:,} movies, {RATINGS:,} ratings (scale_pipeline's generator), one "
            "epoch, holdout metrics over every held-out user (a side path: the trainer's own holdout reads in-package, "
            "not served lists); the epoch's training seconds (median over the seeds; "
            f"the holdout reads between its rounds not counted):\n\n{table(synthetic, 'training s', False)}"
        )
    if ml100k:
        sections.append(
            "Real MovieLens 100K (1,682 movies), the sampled path forced for every row but the full softmax, the "
            "default config otherwise (early stopping on the holdout), holdout metrics over every held-out user:"
            f"\n\n{table(ml100k, 'training s / epoch', True)}"
        )
    if load:
        sections.append(f"Load average (1 min) during the run: {min(load):.1f}–{max(load):.1f}.")
    return "\n\n".join(sections) + "\n"


def measure(args, variants: list[str]) -> tuple[dict, dict, list[float]]:
    synthetic: dict[str, list[dict]] = {}
    ml100k: dict[str, list[dict]] = {}
    load = [os.getloadavg()[0]]
    if not args.skip_62k:
        dataset = synthetic_dataset(USERS, args.movies, RATINGS)
        split = temporal_split(dataset.interactions)
        for seed in args.seeds:
            for variant in variants:
                r = run(dataset, split, seed=seed, epochs=1, **overrides_of(variant))
                synthetic.setdefault(label_of(variant), []).append(r)
                print(f"{args.movies:,} movies, {label_of(variant)}, seed {seed}: {r}", flush=True)
                load.append(os.getloadavg()[0])
    if not args.skip_100k:
        dataset = load_ml100k()
        split = temporal_split(dataset.interactions)
        for seed in args.seeds:
            for variant in ["full", *variants]:
                forced = {} if variant == "full" else {"full_softmax_max_movies": 0}
                r = run(dataset, split, seed=seed, **forced, **overrides_of(variant))
                ml100k.setdefault(label_of(variant), []).append(r)
                print(f"ML-100K, {label_of(variant)}, seed {seed}: {r}", flush=True)
                load.append(os.getloadavg()[0])
    return synthetic, ml100k, load


def from_log(path: Path) -> tuple[dict, dict, int]:
    """The rows a run printed, as measure() returns them."""
    synthetic: dict[str, list[dict]] = {}
    ml100k: dict[str, list[dict]] = {}
    movies = 0
    for line in path.read_text().splitlines():
        match = ROW.match(line)
        if not match:
            continue
        figures = ast.literal_eval(match[4])
        if match[1] == "ML-100K":
            ml100k.setdefault(match[2], []).append(figures)
        else:
            synthetic.setdefault(match[2], []).append(figures)
            movies = int(match[1].split()[0].replace(",", ""))
    return synthetic, ml100k, movies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default="0:1024,1024:1024,512:512")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--movies", type=int, default=62_000)
    parser.add_argument("--skip-62k", action="store_true")
    parser.add_argument("--skip-100k", action="store_true")
    parser.add_argument("--from-log", type=Path, help="write the report from the rows a run printed")
    parser.add_argument("--command", help="with --from-log: the command of that run, for the report")
    parser.add_argument("--no-report", action="store_true")
    args = parser.parse_args()
    if args.from_log:
        synthetic, ml100k, movies = from_log(args.from_log)
        text = body(synthetic, ml100k, movies, [])
        command = args.command or f"python -m benchmarks.bench_negatives --variants {args.variants}"
    else:
        synthetic, ml100k, load = measure(args, args.variants.split(","))
        text = body(synthetic, ml100k, args.movies, load)
        command = " ".join(
            ["python -m benchmarks.bench_negatives", f"--variants {args.variants}", "--seeds", *map(str, args.seeds)]
            + (["--skip-62k"] if args.skip_62k else []) + (["--skip-100k"] if args.skip_100k else [])
        )  # fmt: skip
    print(text)
    if not args.no_report:
        print(write_section("negatives", "Sampled softmax: how many negatives", command, text))


if __name__ == "__main__":
    main()

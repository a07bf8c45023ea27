"""What one training step costs at a given catalogue size, split into its parts (timing only: synthetic data).

    python -m benchmarks.bench_step_cost [--users 20000 --movies 62423 --ratings 3076000] [--steps 60]
                                         [--user-table 162541] [--negatives N] [--rounds 2] [--profile]
                                         [--lazy-adam] [--dense-users] [--in-batch N [N ...]]
                                         [--step-targets N [N ...]]

The data is scale_pipeline's generator at a smaller user count with ML-25M's ratings per user (~154), so a step
holds what an ML-25M step holds (32 windows of up to 200 ratings over a 62k-movie catalogue) without the 25M-row
set-up; the user-id table is sized as ML-25M's (--user-table), so the optimizer's work per step is the full shape's.
Batches are taken in the epoch's (random) order; the first 5 are warm-up. Timed --rounds times (the machine is
shared: compare within a run). The trainer is _setup's: at this table size its user ids train lazily (config
lazy_user_ids_from); --lazy-adam adds a variant whose movie-id tables are row-sparse and lazy too (not adopted: every
id table lazy against every one dense, on an earlier commit, saved ~5% of a step at ML-25M shape and lost holdout
NDCG@10, 0.100 -> 0.090 at 1M ratings x 62k movies), and --dense-users one whose user ids train with dense Adam, as
before lazy_user_ids_from. Every --in-batch / --step-targets variant trains its user ids as the trainer does.
--in-batch times the sampled softmax with each cap on the negatives drawn from the step's targets (config
in_batch_negatives; 0 = all of them), alternating the variants within each round.
Prints the mean of each part (batch assembly in numpy, forward, backward, optimizer) in wall and CPU time, the time
per target and the epoch projected at 25M (20,063,528 targets, bench_scale's pipeline figure). --profile adds
Paddle's CPU kernels.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time

import numpy as np
import paddle

from benchmarks.scale_pipeline import synthetic_dataset
from recommender.ml.config import load_config
from recommender.ml.cpu import keep_freed_memory
from recommender.ml.model import TwoTowerModel
from recommender.ml.net import TwoTowerNet
from recommender.ml.sequences import Sequences
from recommender.ml.split import temporal_split
from recommender.ml.train import EpochPlan, _seeded_encoder, batch_loss, lazy_user_ids

EPOCH_TARGETS_25M = 20_063_528
WARM_UP = 5


def trainer(dataset, split, user_table: int, sparse_movies: bool, **overrides) -> dict:
    """_setup's model and optimizer, the user-id table sized ``user_table`` rows; ``sparse_movies``: the movie-id
    tables row-sparse and lazy too."""
    config = load_config(**overrides)
    keep_freed_memory()  # as train() and refit() do
    encoder = _seeded_encoder(dataset, split.train, config)
    sequences = Sequences(dataset, split.train, encoder, config)
    sizes = {**encoder.sizes, "users": max(user_table, encoder.sizes["users"])}
    lazy = lazy_user_ids(sizes["users"], config)
    model = TwoTowerModel(TwoTowerNet(sizes, config, sparse_user_ids=lazy), encoder, config)
    for table in (model.net.movie_id, model.net.history) if sparse_movies else ():
        table._sparse = True  # nn.Embedding(sparse=True) after the fact: the trainer's movie tables are dense
    optimizer = paddle.optimizer.Adam(learning_rate=config.learning_rate, parameters=model.net.parameters(),
                                      lazy_mode=lazy or sparse_movies)  # fmt: skip
    return {"model": model, "optimizer_obj": optimizer, "sequences": sequences, "config": config,
            "plan": EpochPlan(sequences, config, epoch=1)}  # fmt: skip


def time_steps(t: dict, steps: int) -> dict:
    model, optimizer, sequences, plan, config = t["model"], t["optimizer_obj"], t["sequences"], t["plan"], t["config"]
    wall = np.zeros(4)
    cpu = np.zeros(4)
    targets = 0
    model.net.train()
    for i, rows in enumerate(plan.batches[: steps + WARM_UP]):
        marks = [(time.perf_counter(), time.process_time())]
        batch = sequences.batch(plan.windows, rows, plan.rng)
        marks.append((time.perf_counter(), time.process_time()))
        loss = batch_loss(model.net, batch, config)
        float(loss)
        marks.append((time.perf_counter(), time.process_time()))
        loss.backward()
        marks.append((time.perf_counter(), time.process_time()))
        optimizer.step()
        optimizer.clear_grad()
        marks.append((time.perf_counter(), time.process_time()))
        if i >= WARM_UP:
            m = np.array(marks)
            wall += np.diff(m[:, 0])
            cpu += np.diff(m[:, 1])
            targets += len(batch["positions"])
    n = max(min(steps, len(plan.batches) - WARM_UP), 1)
    per_target = wall.sum() / max(targets, 1)
    return {"wall_ms": 1000 * wall / n, "cpu_ms": 1000 * cpu / n, "targets_per_step": targets / n,
            "us_per_target": 1e6 * per_target, "epoch_25m_min": per_target * EPOCH_TARGETS_25M / 60}  # fmt: skip


def kernel_profile(t: dict, steps: int) -> list[tuple[str, float]]:
    import paddle.profiler as profiler

    from benchmarks.bench_training_profile import kernel_totals

    model, optimizer, sequences, plan, config = t["model"], t["optimizer_obj"], t["sequences"], t["plan"], t["config"]
    prof = profiler.Profiler(targets=[profiler.ProfilerTarget.CPU])
    prof.start()
    for rows in plan.batches[:steps]:
        loss = batch_loss(model.net, sequences.batch(plan.windows, rows, plan.rng), config)
        float(loss)
        loss.backward()
        optimizer.step()
        optimizer.clear_grad()
        prof.step()
    prof.stop()
    totals = kernel_totals(prof)
    shutil.rmtree("profiler_log", ignore_errors=True)
    return [(name, ms / steps) for name, ms in sorted(totals.items(), key=lambda kv: -kv[1])[:15]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--movies", type=int, default=62_423)
    parser.add_argument("--ratings", type=int, default=3_076_000)
    parser.add_argument("--user-table", type=int, default=162_541)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--negatives", type=int, default=None)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--lazy-adam", action="store_true")
    parser.add_argument("--dense-users", action="store_true")
    parser.add_argument("--in-batch", type=int, nargs="+", default=None, help="in_batch_negatives values to compare")
    parser.add_argument("--step-targets", type=int, nargs="+", default=None, help="step_targets values to compare")
    args = parser.parse_args()
    started = time.perf_counter()
    dataset = synthetic_dataset(args.users, args.movies, args.ratings)
    split = temporal_split(dataset.interactions)
    print(f"data {time.perf_counter() - started:.0f} s", flush=True)
    overrides = {"negatives": args.negatives}
    variants = {"trainer": (False, {})}
    if args.lazy_adam:
        variants["movie ids lazy too"] = (True, {})
    if args.dense_users:
        variants["user ids dense"] = (False, {"lazy_user_ids_from": 0})
    for cap in args.in_batch or []:
        variants[f"in_batch_negatives={cap}"] = (False, {"in_batch_negatives": cap})
    for most in args.step_targets or []:
        variants[f"step_targets={most}"] = (False, {"step_targets": most})
    runs = {label: trainer(dataset, split, args.user_table, sparse_movies, **overrides, **extra)
            for label, (sparse_movies, extra) in variants.items()}  # fmt: skip
    for _ in range(args.rounds):
        for label, t in runs.items():
            before = os.getloadavg()[0]
            r = time_steps(t, args.steps)
            w, c = r["wall_ms"], r["cpu_ms"]
            print(
                f"{label}: {args.movies:,} movies, {args.steps} steps, {r['targets_per_step']:.0f} targets/step; "
                f"wall ms batch {w[0]:.0f} forward {w[1]:.0f} backward {w[2]:.0f} optimizer {w[3]:.0f} "
                f"(CPU {c[1]:.0f} / {c[2]:.0f} / {c[3]:.0f}); {r['us_per_target']:.0f} us/target -> 25M epoch "
                f"{r['epoch_25m_min']:.1f} min; load {before:.2f} -> {os.getloadavg()[0]:.2f}",
                flush=True,
            )
    if args.profile:
        for label, t in runs.items():
            print(f"{label}: Paddle's CPU kernels", flush=True)
            for name, ms in kernel_profile(t, min(args.steps, 20)):
                print(f"  {name:40s} {ms:7.1f} ms/step")


if __name__ == "__main__":
    main()

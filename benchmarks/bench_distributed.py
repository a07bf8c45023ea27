"""Data-parallel training (config.trainer_processes): ML-100K trained in 1 vs 2 CPU processes, the same config
otherwise; wall time and holdout quality.

    python -m benchmarks.bench_distributed [--epochs 8] [--runs 1x2 2x1 2x2] [--no-write]

../shared/bench/split.py splits ML-100K (per-user temporal, last 20%); the holdout model is trained on the train
part with recommender.ml.train.train (early stopping reads the test part, as in the "model" section), its top 50
per test user (train movies excluded) is scored by ../shared/bench/metrics.py. A run "PxT" is P processes of T
threads. Epochs are capped and patience = epochs, so every run does the same number of epochs (the same work);
the quality is the best epoch's. Writes the "distributed" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.movielens100k import ML100K, load_ml100k
from benchmarks.report import write_section
from recommender.ml.config import load_config
from recommender.ml.data import Interactions
from recommender.ml.distributed import train
from recommender.ml.encoder import user_histories
from recommender.ml.evaluate import catalog_index, group_rows, top_k_ranking
from recommender.ml.split import Split

BENCH = Path(__file__).resolve().parents[2] / "shared" / "bench"
K = 50


def shared_split(folder: Path) -> Split:
    """split.py's train part (ratings.dat) and test part (test_ratings.json) as the package's Split."""
    rows = [line.split("::") for line in (folder / "train" / "ratings.dat").read_text("latin-1").splitlines() if line]
    r = np.array(rows, dtype=np.int64)
    test = [(int(u), m, s, t) for u, items in json.loads((folder / "test_ratings.json").read_text()).items()
            for m, s, t in items]  # fmt: skip
    e = np.array(sorted(test, key=lambda x: (x[0], x[3], x[1])), dtype=np.int64)
    return Split(Interactions(r[:, 0], r[:, 1], r[:, 2], r[:, 3]), Interactions(e[:, 0], e[:, 1], e[:, 2], e[:, 3]))


def score(model, dataset, split: Split, folder: Path, name: str) -> dict:
    """Top-K of every test user written as metrics.py reads it, and metrics.py's figures."""
    user_ids = np.array(sorted(int(u) for u in json.loads((folder / "test.json").read_text())), dtype=np.int64)
    user_vecs = model.user_vectors(dataset.users.select(user_ids), user_histories(split.train, user_ids))
    movie_vecs = model.movie_vectors(dataset.catalog)
    seen = group_rows(split.train, catalog_index(dataset.catalog, split.train.movie_ids))
    row = {int(u): i for i, u in enumerate(user_ids)}
    top = top_k_ranking(lambda ids: user_vecs[[row[int(u)] for u in ids]] @ movie_vecs.T, user_ids, seen, K)
    recs = folder.parent / f"{name}.jsonl"
    with recs.open("w") as fh:
        for u, items in zip(user_ids, top, strict=True):
            fh.write(json.dumps({"user_id": int(u), "items": dataset.catalog.movie_ids[items].tolist()}) + "\n")
    out = recs.with_suffix(".json")
    subprocess.run([sys.executable, str(BENCH / "metrics.py"), str(folder / "test.json"), str(recs), "--json",
                    str(out), "--quiet"], check=True)  # fmt: skip
    return json.loads(out.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=8, help="epochs of every run (patience = epochs)")
    parser.add_argument("--runs", nargs="+", default=["1x2", "2x1", "2x2"], help="PROCESSESxTHREADS")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    dataset = load_ml100k()
    rows, loads = [], []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "split"
        subprocess.run([sys.executable, str(BENCH / "split.py"), str(ML100K), str(folder)], check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
        split = shared_split(folder)
        for run in args.runs:
            processes, threads = map(int, run.split("x"))
            config = load_config(seed=args.seed, epochs=args.epochs, patience=args.epochs,
                                 trainer_processes=processes, threads=threads)  # fmt: skip
            started = time.perf_counter()
            result = train(dataset, split, config, Path(tmp) / run)
            total = time.perf_counter() - started
            metrics = score(result.model, dataset, split, folder, run)
            per_epoch = float(np.median([r["seconds"] for r in result.curve]))
            loads.append(os.getloadavg()[0])
            rows.append(f"| {processes} | {threads} | {total:.0f} | {per_epoch:.1f} | {result.best_epoch:g} | "
                        f"{metrics['all']['ndcg@10']:.3f} | {metrics['all']['recall@50']:.3f} | "
                        f"{result.curve[-1]['loss']:.3f} | {loads[-1]:.1f} |")  # fmt: skip
            print(rows[-1], flush=True)
    body = (
        f"ML-100K split by `../shared/bench/split.py`, {len(split.train)} train ratings; the holdout two-tower model "
        f"(default config, seed {args.seed}) trained for {args.epochs} epochs in every run (epochs capped and patience "
        f"= epochs so that every run does the same work: a full early-stopped run is ~21 epochs, too long on this "
        f"busy machine), early stopping's best epoch kept; top {K} scored by `../shared/bench/metrics.py` (all "
        "held-out movies relevant). Processes launched by `python -m paddle.distributed.launch` (gloo, loopback); "
        "total s includes the launch (~5-8 s: Python + Paddle start-up and the rendezvous in every process).\n\n"
        "| processes | threads each | total s | s / epoch (median) | best epoch | NDCG@10 | Recall@50 | "
        "last loss | load average (1 min) after |\n|---|---|---|---|---|---|---|---|---|\n" + "\n".join(rows)
        + f"\n\nLoad average at the end: {' / '.join(f'{x:.1f}' for x in os.getloadavg())} (2 cores shared with "
        "other work). One seed per row: NDCG@10 moves by ~±0.01 between seeds and between the random streams of "
        "1 and 2 processes (with dropouts off the two give the same updates, tests/recommender/ml/test_distributed.py; "
        "from config lazy_user_ids_from users one process updates the user-id table lazily, several densely)."
    )  # fmt: skip
    print(body)
    if not args.no_write:
        command = f"python -m benchmarks.bench_distributed --epochs {args.epochs} --runs {' '.join(args.runs)}"
        write_section("distributed", "Data-parallel training: 1 vs 2 processes (ML-100K)", command, body)


if __name__ == "__main__":
    main()

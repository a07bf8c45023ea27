"""Time the pipeline stages outside the training steps (holdout reads, evaluation, baselines, second stage,
co-rating neighbours) on synthetic data of a given shape, with an untrained model (the costs do not depend on the
weights). Usage: python -m benchmarks.profile_eval_stages --users 6040 --movies 62000 --ratings 1000209"""

from __future__ import annotations

import argparse
import json
import os
import time

from benchmarks.scale_pipeline import _vm_hwm_mib, synthetic_dataset


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=6040)
    parser.add_argument("--movies", type=int, default=62000)
    parser.add_argument("--ratings", type=int, default=1_000_209)
    parser.add_argument("--stages", default="read,evaluate,baselines,ranker,neighbours")
    args = parser.parse_args()
    from recommender.ml.baselines import BASELINES, evaluate_baselines
    from recommender.ml.config import load_config
    from recommender.ml.evaluate import evaluate_model
    from recommender.ml.neighbours import ItemNeighbours
    from recommender.ml.ranker import fit_holdout_ranker
    from recommender.ml.split import temporal_split
    from recommender.ml.train import _setup, early_stopping_split

    dataset = synthetic_dataset(args.users, args.movies, args.ratings)
    split = temporal_split(dataset.interactions)
    config = load_config()
    model, _, _ = _setup(dataset, split.train, config)
    model.net.eval()
    out: dict = {"load": os.getloadavg()[0]}
    stages = args.stages.split(",")

    def timed(name, fn):
        t0, c0 = time.perf_counter(), time.process_time()
        value = fn()
        out[name] = {"wall": round(time.perf_counter() - t0, 1), "cpu": round(time.process_time() - c0, 1),
                     "load": round(os.getloadavg()[0], 1)}  # fmt: skip
        print(name, out[name], flush=True)
        return value

    if "read" in stages:
        watched = early_stopping_split(split, config)
        for i in range(3):  # early stopping reads the same split after every round
            timed(f"holdout read {i} (eval_users)", lambda: evaluate_model(model, dataset, watched, ks=(10,)))
    if "evaluate" in stages:
        m = timed("evaluate_model all", lambda: evaluate_model(model, dataset, split))
        out["users"] = m["users"]
    if "baselines" in stages:
        for name in BASELINES:
            r = timed(f"baseline {name}", lambda n=name: evaluate_baselines(split, dataset.catalog, names=(n,)))
            out[f"ndcg {name}"] = round(r[name]["ndcg@10"], 4)
            out[f"recall50 {name}"] = round(r[name]["recall@50"], 4)
    if "ranker" in stages:
        timed("ranker", lambda: fit_holdout_ranker(model, dataset, split, max_users=config.ranker_users,
                                                   seed=config.seed, threads=config.threads))  # fmt: skip
    if "neighbours" in stages:
        timed("neighbours", lambda: ItemNeighbours.fit(dataset.interactions, dataset.catalog))
    out["peak_rss_mib"] = _vm_hwm_mib()
    out["load_after"] = os.getloadavg()[0]
    print(json.dumps(out))


if __name__ == "__main__":
    main()

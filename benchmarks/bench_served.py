"""What the product SERVES, scored from outside: the steps of ../shared/bench/score_served.sh, once per seed,
beside the classical baselines fitted on the same train part and scored by the same metrics code.

    python -m benchmarks.bench_served [--data ../shared/datasets/ml-100k] [--seeds 0 1 2] [--no-write]

Per seed: fresh SQLite + Milvus Lite -> import_movielens (train part only) -> train_model --seed S (the worker's
pipeline: holdout training, gate, refit on every rating, index) -> batch_recommend --k 50 -> metrics.py.
Writes the "served" section at the top of docs/benchmarks.md (mean ± std over seeds) and prints it.
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

from benchmarks.report import write_section
from recommender.ml.baselines import ALS, EASE, ItemKNN, MostPop, user_item_matrix
from recommender.ml.data import Catalog, Interactions
from recommender.ml.evaluate import top_k_ranking

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT.parent / "shared" / "bench"
COLUMNS = [("all", "ndcg@10"), ("all", "recall@10"), ("all", "recall@50"), ("all", "ndcg@50"), ("", "coverage@50"),
           ("ge4", "ndcg@10"), ("ge4", "recall@50")]  # fmt: skip
K = 50


def _run(cmd: list[str], env: dict, log: Path) -> float:
    started = time.perf_counter()
    with log.open("w") as fh:
        done = subprocess.run(cmd, cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT, check=False)
    if done.returncode:
        sys.exit(f"{' '.join(cmd)} failed ({done.returncode}); last lines of {log}:\n{log.read_text()[-2000:]}")
    return time.perf_counter() - started


def _metrics(split: Path, recs: Path) -> dict:
    out = recs.with_suffix(".metrics.json")
    subprocess.run([sys.executable, str(BENCH / "metrics.py"), str(split / "test.json"), str(recs), "--json",
                    str(out), "--quiet"], check=True)  # fmt: skip
    return json.loads(out.read_text())


def served_run(split: Path, work: Path, seed: int, config: Path | None = None) -> tuple[dict, dict]:
    """One pass of score_served.sh with a seed: (metrics, timings)."""
    work.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if k not in {"MILVUS_URI", "CELERY_BROKER_URL", "REDIS_URL"}}
    env.update(DATABASE_URL=f"sqlite:///{work}/db.sqlite3", RECSITE_VAR_DIR=str(work / "var"))
    py = [sys.executable, "manage.py"]
    _run([*py, "migrate", "-v0"], env, work / "migrate.log")
    timings = {"import_s": _run([*py, "import_movielens", "--path", str(split / "train")], env, work / "import.log")}
    extra = ["--config", str(config.resolve())] if config else []
    timings["train_s"] = _run([*py, "train_model", "--seed", str(seed), *extra], env, work / "train.log")
    recs = work / "recs.jsonl"
    timings["batch_s"] = _run([*py, "batch_recommend", "--k", str(K), "--output", str(recs)], env, work / "batch.log")
    return _metrics(split, recs), timings


def _read_train(split: Path) -> tuple[Interactions, Catalog]:
    rows = [line.split("::") for line in (split / "train" / "ratings.dat").read_text("latin-1").splitlines() if line]
    r = np.array(rows, dtype=np.int64)
    ids = [int(line.split("::", 1)[0]) for line in (split / "train" / "movies.dat").read_text("latin-1").splitlines()]
    catalog = Catalog(np.array(sorted(ids), dtype=np.int64), [""] * len(ids), [[] for _ in ids], np.zeros(len(ids)))
    return Interactions(r[:, 0], r[:, 1], r[:, 2], r[:, 3]), catalog


def baseline_runs(split: Path, work: Path) -> dict[str, dict]:
    """MostPop / ItemKNN / EASE / ALS fitted on the same train part, top-50 files scored by metrics.py."""
    train, catalog = _read_train(split)
    x, user_ids = user_item_matrix(train, catalog)
    test_users = np.array(sorted(int(u) for u in json.loads((split / "test.json").read_text())), dtype=np.int64)
    rows = np.searchsorted(user_ids, test_users)
    known = (rows < len(user_ids)) & (user_ids[np.minimum(rows, len(user_ids) - 1)] == test_users)
    test_users, rows = test_users[known], rows[known]
    seen = {int(u): x[r].indices for u, r in zip(test_users, rows, strict=True)}
    row_of = dict(zip(test_users.tolist(), rows.tolist(), strict=True))
    results = {}
    for name, model in {"MostPop": MostPop(), "ItemKNN": ItemKNN(), "EASE": EASE(), "ALS": ALS()}.items():
        model.fit(x)
        score = lambda ids, m=model: m.score(np.array([row_of[int(u)] for u in ids]), x)  # noqa: E731
        top = top_k_ranking(score, test_users, seen, K)
        recs = work / f"{name}.jsonl"
        with recs.open("w") as fh:
            for u, items in zip(test_users, top, strict=True):
                fh.write(json.dumps({"user_id": int(u), "items": catalog.movie_ids[items].tolist()}) + "\n")
        results[name] = _metrics(split, recs)
    return results


def _value(result: dict, block: str, key: str) -> float:
    return result[block][key] if block else result[key]


def _cell(values: list[float]) -> str:
    mean = float(np.mean(values))
    return f"{mean:.3f}" + (f" ± {np.std(values, ddof=1):.3f}" if len(values) > 1 else "")


def report(data: Path, served: list[dict], timings: list[dict], baselines: dict[str, dict]) -> str:
    head = "| method | " + " | ".join(f"{k}" + (f" ({b})" if b == "ge4" else "") for b, k in COLUMNS) + " |"
    lines = [head, "|---|" + "---|" * len(COLUMNS)]
    lines.append("| **served** (two-tower, refit) | " + " | ".join(_cell([_value(r, b, k) for r in served])
                 for b, k in COLUMNS) + " |")  # fmt: skip
    for name, result in baselines.items():
        lines.append(f"| {name} | " + " | ".join(f"{_value(result, b, k):.3f}" for b, k in COLUMNS) + " |")
    best = {f"{b}/{k}": max(_value(r, b, k) for r in baselines.values()) for b, k in COLUMNS}
    ratios = []
    for b, k in (("all", "ndcg@10"), ("all", "recall@50"), ("", "coverage@50")):
        mean = float(np.mean([_value(r, b, k) for r in served]))
        ratios.append(f"{k}: {mean:.3f} = {mean / best[f'{b}/{k}']:.2f} × the best baseline ({best[f'{b}/{k}']:.3f})")
    t = {key: float(np.median([x[key] for x in timings])) for key in timings[0]}
    violations = sum(r["violations_train_items"] + r["violations_duplicates"] for r in served)
    return (
        f"Data: `{data}`, split by `../shared/bench/split.py` (per-user temporal, last 20%), scored by "
        f"`../shared/bench/metrics.py` (full catalogue, train movies excluded), {served[0]['n_test_users']} test "
        f"users. Served = `import_movielens` (train part) → `train_model --seed S` → `batch_recommend --k 50`, "
        f"mean ± std over {len(served)} seeds; baselines fitted on the same train part in the same run.\n\n"
        + "\n".join(lines)
        + "\n\n- " + "\n- ".join(ratios)
        + f"\n- median times: import {t['import_s']:.0f} s, train_model {t['train_s']:.0f} s, "
        f"batch_recommend {t['batch_s']:.0f} s; served lists with rated or duplicate movies: {violations}\n"
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "datasets" / "ml-100k")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--config", type=Path, help="a TOML of training overrides (experiments; implies --no-write)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        subprocess.run([sys.executable, str(BENCH / "split.py"), str(args.data), str(work / "split")],
                       check=True, stdout=subprocess.DEVNULL)  # fmt: skip
        served, timings = [], []
        for seed in args.seeds:
            metrics, timing = served_run(work / "split", work / f"seed{seed}", seed, args.config)
            print(f"seed {seed}: ndcg@10 {metrics['all']['ndcg@10']:.4f} recall@50 {metrics['all']['recall@50']:.4f} "
                  f"coverage@50 {metrics['coverage@50']:.3f} {timing}", flush=True)  # fmt: skip
            served.append(metrics)
            timings.append(timing)
        body = report(args.data, served, timings, baseline_runs(work / "split", work))
    print(body)
    if not args.no_write and not args.config:
        seeds = " ".join(map(str, args.seeds))
        command = f"python -m benchmarks.bench_served --data {args.data.name} --seeds {seeds}"
        write_section("served", f"Served recommendations vs baselines ({args.data.name})", command, body, first=True)


if __name__ == "__main__":
    main()

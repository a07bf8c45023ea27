"""bench_scale's catalogue phase: the whole ``train_model`` pipeline on the same ratings with a small and a large
catalogue, side by side in one run (issue #23: the 62,000-movie run may cost at most 1.5 x the 3,700-movie one).

Each size gets synthetic files from scripts/make_synthetic_movielens.py (6,040 users, 1,000,209 ratings, the movie
count of the size; generated once into --work), a fresh SQLite database and var/ folder (Milvus Lite, model files),
``import_movielens`` (timed apart), then ``manage.py train_model --epochs N`` timed as one process: training with
early stopping's holdout reads, evaluation beside the baselines, the second stage, the refit on every rating and
the Milvus index, exactly what the training worker runs. The version's own stage_seconds say where the time went.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

SIZES = (3_700, 62_000)
USERS, RATINGS = 6_040, 1_000_209
READ_VERSION = """
import json
from recommender.models import ModelVersion
v = ModelVersion.objects.order_by("-number").first()
m = v.metrics or {}
model, baselines = m.get("model") or {}, m.get("baselines") or {}
print(json.dumps({"status": v.status, "error": v.error, "stage_seconds": m.get("stage_seconds"),
                  "ndcg@10": model.get("ndcg@10"), "recall@50": model.get("recall@50"),
                  "softmax": (m.get("training") or {}).get("loss"),
                  "baselines": {name: row.get("ndcg@10") for name, row in baselines.items()},
                  "ease_movies": (baselines.get("EASE") or {}).get("scored_movies"),
                  "knn_movies": (baselines.get("ItemKNN") or {}).get("scored_movies")}))
"""


def _fresh_env(work: Path, name: str) -> dict:
    """The embedded default in folders of its own: SQLite, Milvus Lite and model files under work/name-var."""
    database = work / f"{name}.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    var = work / f"{name}-var"
    if var.exists():
        import shutil

        shutil.rmtree(var)
    env = {k: v for k, v in os.environ.items() if k not in ("MILVUS_URI", "CELERY_BROKER_URL", "REDIS_URL")}
    return {**env, "DATABASE_URL": f"sqlite:///{database}", "RECSITE_VAR_DIR": str(var)}


def phase_catalogue(args, run_measured: Callable[..., dict], child_json: Callable[[Path], dict]) -> dict:
    """Both sizes, one after the other under the same load; their wall times, peak RSS and the ratio."""
    from scripts.make_synthetic_movielens import generate

    manage = [sys.executable, "manage.py"]
    results: dict = {"users": USERS, "ratings": RATINGS, "epochs": args.catalogue_epochs}
    for movies in SIZES:
        name = f"catalogue-{movies}"
        data = args.work / name
        if not (data / "ratings.dat").exists():
            generate(data, users=USERS, movies=movies, ratings=RATINGS, seed=0)
        env = _fresh_env(args.work, name)
        run_measured([*manage, "migrate", "--noinput"], env=env, log=args.work / f"{name}-migrate.log")
        imported = run_measured([*manage, "import_movielens", "--path", str(data)], env=env,
                                log=args.work / f"{name}-import.log")  # fmt: skip
        print(f"  {movies} movies: imported in {imported['seconds']} s; train_model ...", flush=True)
        log = args.work / f"{name}-train.log"
        trained = run_measured([*manage, "train_model", "--epochs", str(args.catalogue_epochs), "-v", "0"], env=env,
                               log=log)  # fmt: skip
        version_log = args.work / f"{name}-version.log"
        run_measured([*manage, "shell", "-c", READ_VERSION], env=env, log=version_log)
        results[str(movies)] = {"import_seconds": imported["seconds"], **trained, **child_json(version_log)}
        print(f"  {movies} movies: {json.dumps(results[str(movies)])}", flush=True)
    small, large = (results[str(size)]["seconds"] for size in SIZES)
    results["ratio"] = round(large / small, 2)
    return results


def report_catalogue(r: dict) -> list[str]:
    """The markdown of the catalogue phase (bench_scale's report adds it under its own heading)."""
    small, large = (r[str(size)] for size in SIZES)
    lines = [
        f"Same {r['ratings']:,} synthetic ratings by {r['users']:,} users (`scripts/make_synthetic_movielens.py "
        f"--users {r['users']} --ratings {r['ratings']} --movies N`), a fresh SQLite database and Milvus Lite folder "
        f"per size, then `manage.py train_model --epochs {r['epochs']}` timed as one process: training with the "
        "holdout reads, evaluation beside the baselines, the second stage, the refit on every rating and the index.",
        "",
        "| movies | softmax | train_model wall | CPU | peak RSS | load avg | training | evaluating | ranking | "
        "refitting | indexing | holdout NDCG@10 | status |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for size, row in zip(SIZES, (small, large), strict=True):
        stages = row.get("stage_seconds") or {}

        def stage(key, stages=stages) -> str:
            return f"{stages[key]:.0f} s" if key in stages else "—"

        ndcg = row.get("ndcg@10")
        lines.append(
            f"| {size:,} | {row.get('softmax') or '—'} | **{row['seconds']:.0f} s** | {row['cpu_seconds']:.0f} s | "
            f"{row['peak_rss_mib'] / 1024:.2f} GiB | {row['load_before']} → {row['load_after']} | "
            f"{stage('training')} | {stage('evaluating')} | {stage('ranking')} | {stage('refitting')} | "
            f"{stage('indexing')} | {'—' if ndcg is None else f'{ndcg:.3f}'} | {row.get('status')} |"
        )
    verdict = "within" if r["ratio"] <= 1.5 else "above"
    lines += ["", f"62,000 movies cost **{r['ratio']} ×** the 3,700-movie pipeline ({verdict} the 1.5 × goal)."]
    alike = [sum(v for k, v in (row.get("stage_seconds") or {}).items() if k != "indexing") for row in (small, large)]
    indexed = [(row.get("stage_seconds") or {}).get("indexing") is not None for row in (small, large)]
    if indexed == [False, True]:
        lines.append(
            f"Only the 62,000-movie version passed the gate and was indexed; the stages both ran add up to "
            f"{alike[0]:.0f} s and {alike[1]:.0f} s: {alike[1] / max(alike[0], 1):.2f} ×."
        )
    if large.get("ease_movies") or large.get("knn_movies"):
        knn, ease, movies = large.get("knn_movies"), large.get("ease_movies"), max(SIZES)
        lines.append(
            f"At {movies:,} movies ItemKNN is fitted on the {knn or movies:,} most-rated movies (ITEM_ITEM_MAX_MOVIES; "
            f"the co-ratings of all of them: 742M cells) and EASE on the {ease or movies:,} most-rated "
            "(EASE_MAX_MOVIES: its dense inverse costs movies³, 15 GB over all of them); each is ranked over the "
            "movies it scores, the others below them. MostPop and ALS score every movie."
        )
    for size, row in zip(SIZES, (small, large), strict=True):
        model = row.get("ndcg@10")
        lines.append(
            f"Holdout NDCG@10 at {size:,} movies (one epoch): model "
            + ("—" if model is None else f"{model:.3f}")
            + ", "
            + ", ".join(
                f"{name} {value:.3f}" for name, value in (row.get("baselines") or {}).items() if value is not None
            )
            + "."
        )
    return lines

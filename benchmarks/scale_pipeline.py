"""bench_scale's pipeline phase: every stage of the training pipeline on MovieLens-25M-shaped data in one process,
with the time and the peak memory after each (issue #23: trains, evaluates and indexes in <= 8 GiB, one epoch
<= 30 min on 2 cores).

The data comes straight from scripts/make_synthetic_movielens.py's generator as arrays (the same rows its files
hold): the import and the export at this size are bench_scale's sqlite and export phases. Then, as
recommender/services/training.py runs them: the temporal split; the trainer's set-up and epoch plan; training steps
for --train-seconds, the epoch's largest batch first (the epoch is projected from the time per target); the holdout
evaluation of every test user; the baselines beside it; the second stage's fit and its cross-fitted verdict; the
co-rating neighbours of every movie; the movie vectors written into a Milvus Lite collection (complete, flushed,
indexed, loaded). The refit is training again over every rating (the epoch figure covers it).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SHAPE = (162_541, 62_423, 25_000_095)


def _vm_hwm_mib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024)
    return 0


def synthetic_dataset(users: int, movies: int, ratings: int, seed: int = 0):
    """The generator's catalogue, users and ratings as recommender.ml arrays (chunk by chunk into int32 columns)."""
    from recommender.ml.data import Catalog, Dataset, Interactions, Users
    from scripts import make_synthetic_movielens as generator

    rng = np.random.default_rng(seed)  # the draws in generate()'s order, so these are the rows its files hold
    movie_ids, movie_lines = generator._movies(rng, movies)
    user_lines = generator._users(rng, users)
    counts = generator._activity(rng, users, movies, ratings)
    tastes = generator._tastes(rng, movie_lines, users)
    columns = [np.empty(ratings, dtype=d) for d in (np.int32, np.int32, np.float32, np.int64)]
    filled = 0
    for rows in generator._rating_chunks(rng, movie_ids, counts, tastes):
        for column, values in zip(columns, rows.T, strict=True):
            column[filled : filled + len(rows)] = values
        filled += len(rows)
    titles, genres, years = [], [], []
    for line in movie_lines:
        _, title, names = line.rstrip("\n").split("::")
        titles.append(title)
        genres.append(names.split("|"))
        years.append(int(title[-5:-1]))
    catalog = Catalog(movie_ids.astype(np.int64), titles, genres, np.array(years, dtype=np.int32))
    fields = [line.split("::") for line in user_lines]
    people = Users(
        np.array([int(f[0]) for f in fields], dtype=np.int64),
        [f[1] for f in fields],
        np.array([int(f[2]) for f in fields], dtype=np.int32),
        np.array([int(f[3]) for f in fields], dtype=np.int32),
    )
    interactions = Interactions(*(column[:filled] for column in columns))
    return Dataset(catalog, people, interactions)


def child_pipeline(args) -> None:
    """Run in its own process (bench_scale --child pipeline); prints one JSON object of figures."""
    var = Path(tempfile.mkdtemp(prefix="bench-scale-var-", dir=args.work))
    os.environ.update(DJANGO_SETTINGS_MODULE="recsite.settings.local", RECSITE_VAR_DIR=str(var))
    for name in ("MILVUS_URI", "DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"):
        os.environ.pop(name, None)
    import django

    django.setup()
    from recommender.ml.baselines import evaluate_baselines
    from recommender.ml.config import load_config
    from recommender.ml.cpu import keep_freed_memory, release_freed_memory
    from recommender.ml.evaluate import evaluate_model
    from recommender.ml.neighbours import ItemNeighbours
    from recommender.ml.ranker import fit_holdout_ranker
    from recommender.ml.split import temporal_split
    from recommender.ml.train import EpochPlan, _setup, batch_loss, loss_name
    from recommender.vectorstore import get_vector_store

    figures: dict = {}
    clock = time.perf_counter()

    def stage(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        figures[name] = {"seconds": round(now - clock, 1), "peak_rss_mib": _vm_hwm_mib()}
        print(f"{time.strftime('%H:%M:%S')} {name}: {figures[name]}", file=sys.stderr, flush=True)
        print(json.dumps({**figures, "peak_rss_mib": _vm_hwm_mib(), "partial": True}), flush=True)  # so far
        clock = time.perf_counter()

    dataset = synthetic_dataset(*SHAPE)
    stage("data")
    split = temporal_split(dataset.interactions)
    stage("split")
    config = load_config()
    keep_freed_memory()  # while training runs, as train() and refit() do (released after the training steps)
    model, optimizer, sequences = _setup(dataset, split.train, config)
    plan = EpochPlan(sequences, config, epoch=1)
    stage("setup")
    model.net.train()
    times, targets = [], []
    worst = int(np.argmax(plan.targets))  # the largest batch first: the step that needs the most memory
    order = [worst] + [b for b in range(len(plan.batches)) if b != worst]
    started = time.perf_counter()
    for rows in (plan.batches[b] for b in order):
        t0 = time.perf_counter()
        batch = sequences.batch(plan.windows, rows, plan.rng)
        loss = batch_loss(model.net, batch, config)
        loss.backward()
        optimizer.step()
        optimizer.clear_grad()
        float(loss)
        times.append(time.perf_counter() - t0)
        targets.append(len(batch["positions"]))
        if time.perf_counter() - started > args.train_seconds:
            break
    figures["training"] = {
        "steps": len(times), "step_median_s": round(float(np.median(times)), 3),
        "targets_per_step": round(float(np.mean(targets))), "epoch_steps": len(plan.batches),
        "epoch_targets": plan.total, "train_ratings": len(split.train),
        "projected_epoch_minutes": round(sum(times) / max(sum(targets), 1) * plan.total / 60, 1),
        "softmax": loss_name(len(dataset.catalog), config),
    }  # fmt: skip
    release_freed_memory()
    stage("training steps")
    model.net.eval()
    metrics = evaluate_model(model, dataset, split)
    figures["evaluation_users"] = metrics.get("users")
    stage("holdout evaluation")
    baselines = evaluate_baselines(split, dataset.catalog)
    figures["baseline_rows"] = {name: {k: v for k, v in row.items() if not isinstance(v, float)} for name, row in
                                baselines.items()}  # fmt: skip
    stage("baselines")
    if config.ranker:
        fit_holdout_ranker(model, dataset, split, max_users=config.ranker_users, seed=config.seed)
        stage("second stage")
    ItemNeighbours.fit(dataset.interactions, dataset.catalog)
    stage("co-rating neighbours")
    vectors = model.movie_vectors(dataset.catalog)
    get_vector_store().build_collection(999, dataset.catalog.movie_ids, vectors, dataset.catalog.genres,
                                        dataset.catalog.years)  # fmt: skip
    stage("movie vectors + Milvus index")
    figures["peak_rss_mib"] = _vm_hwm_mib()
    print(json.dumps({**figures, "partial": False}))


def report_pipeline(r: dict) -> list[str]:
    t = r.get("training", {})
    users, movies, ratings = SHAPE
    lines = [
        f"Every pipeline stage in one process on synthetic MovieLens-25M-shaped data ({users:,} users, {movies:,} "
        f"movies, {ratings:,} ratings; generator arrays, so the import and export are the phases above). Training "
        f"with the default config, which picks the {t.get('softmax')} at this catalogue size: {t.get('steps')} "
        f"steps timed (median {t.get('step_median_s')} s, {t.get('targets_per_step')} targets a step) of "
        f"{t.get('epoch_steps', 0):,} an epoch ({t.get('epoch_targets', 0):,} targets): one epoch projected at "
        f"**{t.get('projected_epoch_minutes')} min** on this machine (goal ≤ 30 min). Peak RSS of the whole process: "
        f"**{r['peak_rss_mib'] / 1024:.2f} GiB** (goal ≤ 8 GiB).",
        "",
        "| stage | wall | peak RSS so far |",
        "|---|---|---|",
    ]
    for name in ("data", "split", "setup", "training steps", "holdout evaluation", "baselines", "second stage",
                 "co-rating neighbours", "movie vectors + Milvus index"):  # fmt: skip
        if name in r:
            lines.append(f"| {name} | {r[name]['seconds']:.0f} s | {r[name]['peak_rss_mib'] / 1024:.2f} GiB |")
    if r.get("partial"):
        lines += ["", "The run was stopped after the last stage listed (the figures of the stages it finished)."]
    if r.get("note"):
        lines += ["", r["note"]]
    lines += ["", f"Holdout evaluation read {r.get('evaluation_users'):,} users."]
    if r.get("baseline_rows"):  # what each baseline scored (a restricted one names its movies)
        lines[-1] += " Baselines: " + "; ".join(f"{name} {row}" for name, row in r["baseline_rows"].items()) + "."
    return lines

"""bench_scale's child processes for the export and train phases (each phase runs in a process of its own, so
that its peak RSS is its own): the dataset export from the SQLite database, and training steps at ML-25M shape."""

from __future__ import annotations

import json
import os
import time

from benchmarks.scale_pipeline import _vm_hwm_mib


def child_export(args) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recsite.settings.local")
    import django

    django.setup()
    from recommender.services.dataset import catalog_export, interactions_export, users_export

    started = time.perf_counter()
    catalog, users = catalog_export(), users_export()
    catalogue_seconds = time.perf_counter() - started
    interactions = interactions_export()
    seconds = time.perf_counter() - started
    from recommender.ml.data import Dataset

    Dataset(catalog, users, interactions).save(args.work / "export.npz")
    print(json.dumps({
        "export_seconds": round(seconds, 1), "catalogue_users_seconds": round(catalogue_seconds, 1),
        "ratings": len(interactions), "movies": len(catalog), "users": len(users),
        "array_mib": round(sum(a.nbytes for a in (interactions.user_ids, interactions.movie_ids, interactions.scores,
                                                   interactions.timestamps)) / 2**20),
        "export_peak_rss_mib": _vm_hwm_mib(),
    }))  # fmt: skip


def child_train(args) -> None:
    import numpy as np

    from recommender.ml.config import load_config
    from recommender.ml.data import Dataset
    from recommender.ml.split import temporal_split
    from recommender.ml.train import EpochPlan, _setup, batch_loss, loss_name

    started = time.perf_counter()
    dataset = Dataset.load(args.work / "export.npz")
    loaded = _vm_hwm_mib()
    split = temporal_split(dataset.interactions)
    config = load_config()
    model, optimizer, sequences = _setup(dataset, split.train, config)
    plan = EpochPlan(sequences, config, epoch=1)
    build_seconds = time.perf_counter() - started
    built = _vm_hwm_mib()
    model.net.train()
    times, targets = [], []
    steps_started = time.perf_counter()
    worst = int(np.argmax(plan.targets))  # the epoch's largest batch first: the step that needs the most memory
    order = [worst] + [b for b in range(len(plan.batches)) if b != worst]
    for rows in (plan.batches[b] for b in order[: args.steps]):
        t0 = time.perf_counter()
        batch = sequences.batch(plan.windows, rows, plan.rng)
        loss = batch_loss(model.net, batch, config)
        float(loss)
        loss.backward()
        optimizer.step()
        optimizer.clear_grad()
        times.append(time.perf_counter() - t0)
        targets.append(len(batch["positions"]))
        if time.perf_counter() - steps_started > args.train_seconds:
            break
    per_target = sum(times) / max(sum(targets), 1)
    print(json.dumps({
        "negatives": config.negatives, "sampled": sequences.sampled, "batch_size": config.batch_size,
        "loss": loss_name(len(dataset.catalog), config),
        "max_history": config.max_history,
        "train_ratings": len(split.train), "windows": len(plan.windows["input"]), "epoch_steps": len(plan.batches),
        "epoch_targets": plan.total, "build_seconds": round(build_seconds, 1), "loaded_peak_rss_mib": loaded,
        "built_peak_rss_mib": built, "steps": len(times), "step_median_s": round(float(np.median(times)), 3),
        "step_mean_s": round(float(np.mean(times)), 3), "targets_per_step": round(float(np.mean(targets))),
        "largest_step_targets": int(plan.targets[worst]), "largest_step_s": round(times[0], 1),
        "projected_epoch_hours": round(per_target * plan.total / 3600, 3), "train_peak_rss_mib": _vm_hwm_mib(),
    }))  # fmt: skip

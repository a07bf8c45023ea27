"""The real MovieLens 100K files as the ML package's Dataset, parsed by the site's importer (read in place; never
copied into the repository), so that a benchmark sees the occupation codes, age buckets and genres the site stores.

Where the files are: an argument (holdout_run's --ml100k), else $ML100K_PATH, else ML100K below.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from recommender.ml.data import Catalog, Dataset, Interactions, Users

ML100K_ENV = "ML100K_PATH"
ML100K = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "ml-100k"  # the default: ../shared


def ml100k_path(path: str | Path | None = None) -> Path:
    """The dataset folder (or zip): ``path``, else $ML100K_PATH, else ../shared/datasets/ml-100k."""
    return Path(path or os.environ.get(ML100K_ENV) or ML100K)


def _importer_parse(location: Path):
    """movies.importing's own parse and validation; its package imports the Django models, so Django is set up
    first (settings only: no database is opened)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recsite.settings.local")
    import django

    django.setup()
    from movies.importing.sources import source_open

    return source_open(location).parse()


def load_ml100k(root: str | Path | None = None) -> Dataset:
    """u.data / u.user / u.item / u.genre -> Dataset, as the importer reads them: ML-1M age buckets and occupation
    codes, no "unknown" genre, the year from the title (else the release date); genres sorted by name, movies and
    users by id, as recommender/services/dataset.py exports the database."""
    parsed = _importer_parse(ml100k_path(root))
    movies = [parsed.movies[i] for i in sorted(parsed.movies)]
    users = [parsed.users[i] for i in sorted(parsed.users)]
    ratings = np.array(parsed.ratings, dtype=np.int64).reshape(-1, 4)  # [N, 4] user movie score timestamp
    return Dataset(
        Catalog(
            np.array([m.id for m in movies], dtype=np.int64),
            [m.title for m in movies],
            [sorted(m.genres) for m in movies],
            np.array([m.year or 0 for m in movies], dtype=np.int32),
        ),
        Users(
            np.array([u.id for u in users], dtype=np.int64),
            [u.gender for u in users],
            np.array([u.age for u in users], dtype=np.int32),
            np.array([u.occupation for u in users], dtype=np.int32),
        ),
        Interactions(ratings[:, 0], ratings[:, 1], ratings[:, 2].astype(np.float32), ratings[:, 3]),
    )


def holdout_run(description: str):
    """The common start of the ML-100K studies: --seed / --no-write / --ml100k, the dataset, its temporal split and
    the holdout two-tower model trained on the train part with the default config. Returns (args, dataset, split,
    model)."""
    import argparse
    import tempfile

    from recommender.ml.config import load_config
    from recommender.ml.split import temporal_split
    from recommender.ml.train import train

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    parser.add_argument("--ml100k", help=f"the ML-100K folder or zip (default: ${ML100K_ENV}, else {ML100K})")
    args = parser.parse_args()
    dataset = load_ml100k(args.ml100k)
    split = temporal_split(dataset.interactions)
    with tempfile.TemporaryDirectory() as out:
        model = train(dataset, split, load_config(seed=args.seed), Path(out)).model
    return args, dataset, split, model

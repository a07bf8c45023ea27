"""Parse the real MovieLens 100K files into a Dataset (read in place; never copied into the repository)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from recommender.ml.data import Catalog, Dataset, Interactions, Users, age_bucket

ML100K = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "ml-100k"
OCCUPATIONS_100K = (
    "administrator artist doctor educator engineer entertainment executive healthcare homemaker lawyer "
    "librarian marketing none other programmer retired salesman scientist student technician writer"
).split()


def load_ml100k(root: Path = ML100K) -> Dataset:
    """u.data / u.user / u.item / u.genre -> Dataset (ages mapped to ML-1M buckets)."""
    ratings = np.loadtxt(root / "u.data", dtype=np.int64)  # [N, 4] user item rating ts
    genre_names = [line.split("|")[0] for line in (root / "u.genre").read_text().splitlines() if line.strip()]
    movie_ids, titles, genres, years = [], [], [], []
    for line in (root / "u.item").read_text(encoding="latin-1").splitlines():
        f = line.split("|")
        movie_ids.append(int(f[0]))
        titles.append(f[1])
        genres.append([g for g, flag in zip(genre_names, f[5:24], strict=True) if flag == "1"])
        year = re.search(r"(\d{4})$", f[2])
        years.append(int(year.group(1)) if year else 0)
    user_ids, genders, ages, occupations = [], [], [], []
    for line in (root / "u.user").read_text().splitlines():
        uid, age, gender, occupation, _ = line.split("|")
        user_ids.append(int(uid))
        genders.append(gender)
        ages.append(age_bucket(int(age)))
        occupations.append(OCCUPATIONS_100K.index(occupation))
    return Dataset(
        Catalog(np.array(movie_ids, dtype=np.int64), titles, genres, np.array(years, dtype=np.int32)),
        Users(np.array(user_ids), genders, np.array(ages, dtype=np.int32), np.array(occupations, dtype=np.int32)),
        Interactions(ratings[:, 0], ratings[:, 1], ratings[:, 2].astype(np.float32), ratings[:, 3]),
    )


def holdout_run(description: str):
    """The common start of the ML-100K studies: --seed / --no-write, the dataset, its temporal split and the
    holdout two-tower model trained on the train part with the default config. Returns (args, dataset, split, model)."""
    import argparse
    import tempfile

    from recommender.ml.config import load_config
    from recommender.ml.split import temporal_split
    from recommender.ml.train import train

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    dataset = load_ml100k()
    split = temporal_split(dataset.interactions)
    with tempfile.TemporaryDirectory() as out:
        model = train(dataset, split, load_config(seed=args.seed), Path(out)).model
    return args, dataset, split, model

"""Write synthetic MovieLens files in the exact ML-1M layout and sizes (no real MovieLens data involved).

    python scripts/make_synthetic_movielens.py OUT_DIR [--users 6040 --movies 3883 --ratings 1000209 --seed 0]

``generate()`` is reused by the benchmarks. Files: movies.dat, users.dat, ratings.dat, ISO-8859-1,
``::`` separators, the 18 ML-1M genres, titles like "Name (1995)" (some ", The" forms and Latin-1
accents), power-law movie popularity, heavy-tailed user activity (at least 20 ratings each, as in
ML-1M), one rating per (user, movie), timestamps from 2000 to 2003.
"""

import argparse
from pathlib import Path

import numpy as np

GENRES = (
    "Action Adventure Animation Children's Comedy Crime Documentary Drama Fantasy Film-Noir Horror Musical "
    "Mystery Romance Sci-Fi Thriller War Western"
).split()
WORDS = (
    "Night Day Love Dead City Last Return Man Woman Dark Star War Secret House Blue River King Queen Dream "
    "Game Heart Ghost Road Summer Winter Fire Stone Shadow Island Storm Angel Devil Money Time Blood Dance "
    "Café Misérables Amélie Noël Señor Été Bête Garçon Fräulein Mädchen Niño Crème Mañana Adiós"
).split()
ARTICLES = ("The", "A", "Les", "La", "Le", "Das", "El")
SCORE_P = (0.056, 0.108, 0.261, 0.349, 0.226)  # ML-1M's distribution of 1..5 stars
AGE_BUCKETS = (1, 18, 25, 35, 45, 50, 56)
AGE_P = (0.04, 0.18, 0.35, 0.20, 0.09, 0.08, 0.06)
FIRST_TS, LAST_TS = 956_703_932, 1_046_454_590  # the span of ML-1M's timestamps
MIN_PER_USER = 20
MAX_SHARE_PER_USER = 0.6  # ML-1M's most active user rated 2,314 of 3,883 movies


def _titles(rng: np.random.Generator, count: int) -> list[str]:
    titles = []
    for index in range(count):
        words = rng.choice(WORDS, size=int(rng.integers(1, 4)))
        name = " ".join(words)
        if rng.random() < 0.15:  # GroupLens moves leading articles to the end: "Misérables, Les"
            name = f"{name}, {rng.choice(ARTICLES)}"
        if index % 7 == 0:
            name = f"{name} {index}"  # keep many titles distinct, as in the real catalogue
        titles.append(f"{name} ({int(rng.integers(1919, 2001))})")
    return titles


def _movies(rng: np.random.Generator, count: int) -> tuple[np.ndarray, list[str]]:
    """Movie ids with gaps (ML-1M's 3,883 ids run to 3,952) and their movies.dat lines."""
    ids = np.sort(rng.choice(np.arange(1, int(count * 1.02) + 2), size=count, replace=False))
    lines = []
    for movie_id, title in zip(ids, _titles(rng, count), strict=True):
        genres = rng.choice(GENRES, size=int(rng.choice([1, 1, 2, 2, 3, 4])), replace=False)
        lines.append(f"{movie_id}::{title}::{'|'.join(genres)}\n")
    return ids, lines


def _users(rng: np.random.Generator, count: int) -> list[str]:
    genders = rng.choice(["M", "F"], size=count, p=[0.72, 0.28])
    ages = rng.choice(AGE_BUCKETS, size=count, p=AGE_P)
    occupations = rng.integers(0, 21, size=count)
    zips = rng.integers(1000, 99999, size=count)
    return [
        f"{uid}::{genders[i]}::{ages[i]}::{occupations[i]}::{zips[i]:05d}{'-1234' if i % 50 == 0 else ''}\n"
        for i, uid in enumerate(range(1, count + 1))
    ]


def _activity(rng: np.random.Generator, users: int, movies: int, ratings: int) -> np.ndarray:
    """Ratings per user: heavy-tailed, each in [20, 60% of the movies], summing exactly to ``ratings``."""
    floor = min(MIN_PER_USER, movies)
    cap = max(floor, int(movies * MAX_SHARE_PER_USER)) if ratings <= movies * users * MAX_SHARE_PER_USER else movies
    if not floor * users <= ratings <= cap * users:
        raise ValueError(f"{ratings} ratings do not fit {users} users x {movies} movies")
    weights = rng.pareto(1.3, size=users) + 1.0
    counts = np.full(users, floor, dtype=np.int64)
    remaining = ratings - counts.sum()
    while remaining > 0:  # hand out the rest by weight; users at the cap drop out of the draw
        room = cap - counts
        share = np.where(room > 0, weights, 0.0)
        extra = np.minimum(np.floor(share / share.sum() * remaining).astype(np.int64), room)
        if extra.sum() == 0:
            extra[rng.choice(np.flatnonzero(room > 0), size=int(min(remaining, (room > 0).sum())), replace=False)] = 1
        counts += extra
        remaining = ratings - counts.sum()
    return counts


def _rating_lines(rng: np.random.Generator, movie_ids: np.ndarray, counts: np.ndarray) -> list[str]:
    """Per user, distinct movies drawn by power-law popularity (Gumbel top-k), with scores and times."""
    log_p = -0.9 * np.log(rng.permutation(len(movie_ids)) + 10.0)  # Zipf-like popularity by a random rank
    lines: list[str] = []
    for user, count in enumerate(counts, 1):
        keys = log_p + rng.gumbel(size=len(movie_ids))
        chosen = movie_ids[np.argpartition(-keys, count - 1)[:count]] if count < len(movie_ids) else movie_ids
        scores = rng.choice(np.arange(1, 6), size=count, p=SCORE_P)
        start = int(rng.integers(FIRST_TS, LAST_TS - 86_400))
        stamps = np.minimum(start + rng.exponential(3 * 86_400, size=count).astype(np.int64), LAST_TS)
        rows = zip(chosen.tolist(), scores.tolist(), stamps.tolist(), strict=True)
        lines.extend(f"{user}::{movie}::{score}::{stamp}\n" for movie, score, stamp in rows)
    return lines


def generate(
    out_dir: str | Path, *, users: int = 6040, movies: int = 3883, ratings: int = 1000209, seed: int = 0
) -> Path:
    """Write movies.dat, users.dat and ratings.dat (ML-1M layout) into ``out_dir``; return the folder."""
    rng = np.random.default_rng(seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    movie_ids, movie_lines = _movies(rng, movies)
    (out / "movies.dat").write_bytes("".join(movie_lines).encode("iso-8859-1"))
    (out / "users.dat").write_bytes("".join(_users(rng, users)).encode("iso-8859-1"))
    counts = _activity(rng, users, movies, ratings)
    (out / "ratings.dat").write_bytes("".join(_rating_lines(rng, movie_ids, counts)).encode("iso-8859-1"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir")
    parser.add_argument("--users", type=int, default=6040)
    parser.add_argument("--movies", type=int, default=3883)
    parser.add_argument("--ratings", type=int, default=1000209)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    out = generate(args.out_dir, users=args.users, movies=args.movies, ratings=args.ratings, seed=args.seed)
    print(f"wrote {args.users} users, {args.movies} movies, {args.ratings} ratings to {out}")


if __name__ == "__main__":
    main()

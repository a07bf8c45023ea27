"""Write synthetic MovieLens files in the exact ML-1M layout or the CSV layout of today's releases, at ML-1M sizes or
another shape (no real MovieLens data).

    python scripts/make_synthetic_movielens.py OUT_DIR [--shape 1m|25m|100k] [--users N --movies N --ratings N]
                                               [--seed 0] [--layout ml-1m|csv]

The CSV layout (``--layout csv``, as ml-latest-small / ml-25m ship it): movies.csv and ratings.csv with headers,
UTF-8, titles quoted where they hold a comma, "Children" for "Children's", some movies with "(no genres listed)" or
IMAX, scores in half stars (ml-latest-small's distribution), no users file.

``generate()`` is reused by the benchmarks. Files: movies.dat, users.dat, ratings.dat, ISO-8859-1,
``::`` separators, the 18 ML-1M genres, titles like "Name (1995)" (some ", The" forms and Latin-1
accents), power-law movie popularity with each user leaning to a favourite genre (so a personal model has
something to learn beyond popularity), heavy-tailed user activity (at least 20 ratings each, as in
ML-1M), one rating per (user, movie), timestamps from 2000 to 2003.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from movies.movielens import AGE_BUCKETS, GENRES  # noqa: E402 (Django-free: the genres and age codes)

WORDS = (
    "Night Day Love Dead City Last Return Man Woman Dark Star War Secret House Blue River King Queen Dream "
    "Game Heart Ghost Road Summer Winter Fire Stone Shadow Island Storm Angel Devil Money Time Blood Dance "
    "Café Misérables Amélie Noël Señor Été Bête Garçon Fräulein Mädchen Niño Crème Mañana Adiós"
).split()
ARTICLES = ("The", "A", "Les", "La", "Le", "Das", "El")
SCORE_P = (0.056, 0.108, 0.261, 0.349, 0.226)  # ML-1M's distribution of 1..5 stars
AGE_P = (0.04, 0.18, 0.35, 0.20, 0.09, 0.08, 0.06)  # of each age bucket, in AGE_BUCKETS' order
FIRST_TS, LAST_TS = 956_703_932, 1_046_454_590  # the span of ML-1M's timestamps
MIN_PER_USER = 20
MAX_SHARE_PER_USER = 0.6  # ML-1M's most active user rated 2,314 of 3,883 movies
# (users, movies, ratings) of the MovieLens releases, written in the ML-1M file layout whatever the shape.
SHAPES = {"100k": (943, 1682, 100_000), "1m": (6040, 3883, 1_000_209), "25m": (162_541, 62_423, 25_000_095)}


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
    ages = rng.choice(tuple(AGE_BUCKETS), size=count, p=AGE_P)
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


HEAVY_SHARE = 1 / 8  # users rating more than this share of the catalogue are drawn one by one (Gumbel top-k)
CHUNK_RATINGS = 1_000_000  # ratings generated and written per chunk: memory stays flat at any size


TASTE_SHARE = 0.5  # share of a user's ratings drawn from their favourite genre's movies (the rest: popularity)
TASTE_BOOST = 8.0  # heavy users: a favourite-genre movie's popularity weight is multiplied by this


def _tastes(rng: np.random.Generator, movie_lines: list[str], users: int):
    """(user's favourite genre [users], movie rows grouped by first genre [M], their within-genre popularity CDF
    shifted by the genre index [M], each movie's genre [M]): what makes a personal model beat popularity here."""
    group = np.array([GENRES.index(line.rstrip("\n").split("::")[2].split("|")[0]) for line in movie_lines])
    return rng.choice(np.unique(group), size=users), group


def _taste_cdf(log_p: np.ndarray, group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Movie rows sorted by genre and the CDF of popularity inside each genre, genre g's part spanning (g, g + 1]."""
    rows = np.argsort(group, kind="stable")
    weights = np.exp(log_p[rows])
    sorted_group = group[rows]
    starts = np.searchsorted(sorted_group, sorted_group, side="left")
    totals = np.add.reduceat(weights, np.unique(starts))[np.searchsorted(np.unique(starts), starts)]
    cumulative = np.cumsum(weights) - np.concatenate([[0.0], np.cumsum(weights)])[starts]
    return rows, sorted_group + cumulative / totals


def _light_users(rng: np.random.Generator, cdf: np.ndarray, counts: np.ndarray, taste=None):
    """Distinct movie rows for many light users at once: popularity draws with replacement (a TASTE_SHARE of them
    from the user's favourite genre when ``taste`` = (user genre [n], rows by genre, genre CDF) is given), duplicates
    dropped, short users drawn again, then each user's surplus dropped at random. Returns (user index, movie row)."""
    m, n = len(cdf), len(counts)
    keys = np.empty(0, dtype=np.int64)  # user index * m + movie row, unique
    need = counts.copy()
    while (short := np.flatnonzero(need > 0)).size:
        users = np.repeat(short, (need[short] * 1.5).astype(np.int64) + 16)
        draw = np.maximum(rng.random(len(users)), 1e-12)
        movies = np.minimum(np.searchsorted(cdf, draw), m - 1)
        if taste is not None:
            user_genre, rows, genre_cdf = taste
            mine = rng.random(len(users)) < TASTE_SHARE
            at = np.searchsorted(genre_cdf, user_genre[users[mine]] + draw[mine])
            movies[mine] = rows[np.minimum(at, m - 1)]
        keys = np.unique(np.concatenate([keys, users * m + movies]))
        need = counts - np.bincount(keys // m, minlength=n)
    users = keys // m
    order = np.lexsort((rng.random(len(keys)), users))  # random order inside each user
    first = np.searchsorted(users[order], np.arange(n))
    keep = np.sort(order[np.arange(len(keys)) - first[users[order]] < counts[users[order]]])
    return users[keep], keys[keep] % m


def _rating_chunks(rng: np.random.Generator, movie_ids: np.ndarray, counts: np.ndarray, tastes=None):
    """Yield [n, 4] int64 arrays (user, movie, score, timestamp), users in id order, about CHUNK_RATINGS rows each.

    Per user, distinct movies by power-law popularity, tilted to the user's favourite genre when ``tastes`` (from
    _tastes) is given: Gumbel top-k for heavy users, draws without repeats for the rest (the same distribution up to
    the order of the draws)."""
    m = len(movie_ids)
    log_p = -0.9 * np.log(rng.permutation(m) + 10.0)  # Zipf-like popularity by a random rank
    cdf = np.cumsum(np.exp(log_p))
    cdf /= cdf[-1]
    user_genre, group = tastes if tastes is not None else (None, None)
    genre_rows, genre_cdf = _taste_cdf(log_p, group) if tastes is not None else (None, None)
    ends = np.searchsorted(np.cumsum(counts), np.arange(CHUNK_RATINGS, counts.sum(), CHUNK_RATINGS), side="right")
    for start, stop in zip([0, *ends], [*ends, len(counts)], strict=True):
        chunk = counts[start:stop]
        if not len(chunk):
            continue
        heavy = chunk > max(m * HEAVY_SHARE, 1)
        taste = None if tastes is None else (user_genre[start:stop], genre_rows, genre_cdf)
        users, rows = _light_users(rng, cdf, np.where(heavy, 0, chunk), taste)
        parts_u, parts_m = [users], [rows]
        for index in np.flatnonzero(heavy):
            count = int(chunk[index])
            keys = log_p + rng.gumbel(size=m)
            if tastes is not None:
                keys = keys + np.where(group == user_genre[start + index], np.log(TASTE_BOOST), 0.0)
            parts_m.append(np.argpartition(-keys, count - 1)[:count] if count < m else np.arange(m))
            parts_u.append(np.full(count, index))
        users, rows = np.concatenate(parts_u), np.concatenate(parts_m)
        order = np.argsort(users, kind="stable")
        users, rows = users[order], rows[order]
        starts = rng.integers(FIRST_TS, LAST_TS - 86_400, size=len(chunk))
        stamps = np.minimum(starts[users] + rng.exponential(3 * 86_400, size=len(users)).astype(np.int64), LAST_TS)
        scores = rng.choice(np.arange(1, 6), size=len(users), p=SCORE_P)
        yield np.column_stack([users + start + 1, movie_ids[rows], scores, stamps]).astype(np.int64)


def generate(
    out_dir: str | Path, *, users: int = 6040, movies: int = 3883, ratings: int = 1000209, seed: int = 0
) -> Path:
    """Write movies.dat, users.dat and ratings.dat (ML-1M layout) into ``out_dir``; return the folder.

    ratings.dat is written in chunks of about CHUNK_RATINGS lines: memory does not grow with the ratings."""
    rng = np.random.default_rng(seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    movie_ids, movie_lines = _movies(rng, movies)
    (out / "movies.dat").write_bytes("".join(movie_lines).encode("iso-8859-1"))
    (out / "users.dat").write_bytes("".join(_users(rng, users)).encode("iso-8859-1"))
    counts = _activity(rng, users, movies, ratings)
    tastes = _tastes(rng, movie_lines, users)
    with open(out / "ratings.dat", "wb") as f:
        for rows in _rating_chunks(rng, movie_ids, counts, tastes):
            f.write((("%d::%d::%d::%d\n" * len(rows)) % tuple(rows.ravel().tolist())).encode("iso-8859-1"))
    return out


CSV_SCORES = np.arange(1, 11) / 2  # 0.5 .. 5.0
CSV_SCORE_P = (0.014, 0.028, 0.018, 0.075, 0.055, 0.199, 0.130, 0.266, 0.085, 0.130)  # ml-latest-small's halves


def generate_csv(
    out_dir: str | Path, *, users: int = 610, movies: int = 9742, ratings: int = 100_836, seed: int = 0
) -> Path:
    """The same draws as generate(), written in the CSV layout with half-star scores; return the folder."""
    import csv

    rng = np.random.default_rng(seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    movie_ids, movie_lines = _movies(rng, movies)
    _users(rng, users)  # drawn as generate() does (the CSV releases ship no users file)
    with open(out / "movies.csv", "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["movieId", "title", "genres"])
        for index, line in enumerate(movie_lines):
            movie_id, title, genres = line.rstrip("\n").split("::")
            names = [("Children" if g == "Children's" else g) for g in genres.split("|")]
            if index % 97 == 5:
                names = ["(no genres listed)"]
            elif index % 41 == 3:
                names.append("IMAX")
            writer.writerow([movie_id, title, "|".join(names)])
    counts = _activity(rng, users, movies, ratings)
    tastes = _tastes(rng, movie_lines, users)
    with open(out / "ratings.csv", "w", encoding="utf-8") as f:
        f.write("userId,movieId,rating,timestamp\n")
        for rows in _rating_chunks(rng, movie_ids, counts, tastes):
            halves = rng.choice(CSV_SCORES, size=len(rows), p=CSV_SCORE_P)
            f.writelines(f"{u},{m},{h:.1f},{t}\n" for (u, m, _, t), h in zip(rows.tolist(), halves, strict=True))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir")
    parser.add_argument("--shape", choices=sorted(SHAPES), default="1m", help="preset sizes (default: 1m)")
    parser.add_argument("--users", type=int, help="override the preset's user count")
    parser.add_argument("--movies", type=int, help="override the preset's movie count")
    parser.add_argument("--ratings", type=int, help="override the preset's rating count")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--layout", choices=("ml-1m", "csv"), default="ml-1m", help="file layout (default: ml-1m)")
    args = parser.parse_args()
    users, movies, ratings = (
        given if given is not None else preset
        for given, preset in zip((args.users, args.movies, args.ratings), SHAPES[args.shape], strict=True)
    )
    started = time.perf_counter()
    write = generate_csv if args.layout == "csv" else generate
    out = write(args.out_dir, users=users, movies=movies, ratings=ratings, seed=args.seed)
    print(f"wrote {users} users, {movies} movies, {ratings} ratings to {out} in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()

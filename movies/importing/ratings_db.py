"""Bulk upsert of ratings through a staging table (COPY on PostgreSQL), then the movie counters."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.db import connection

from movies.models import Movie, Profile, Rating

from .dataset import MovieLensImportError
from .writers import Counts

STAGE = "movielens_rating_stage"
CHUNK = 100_000
# From this many staged rows on, PostgreSQL re-checks the rating foreign keys once instead of per row.
FK_RECHECK_MIN_ROWS = 50_000


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _names() -> dict[str, str]:
    return {
        "stage": _q(STAGE),
        "rating": _q(Rating._meta.db_table),
        "profile": _q(Profile._meta.db_table),
        "movie": _q(Movie._meta.db_table),
    }


def _stage_postgresql(cursor, ratings: list, on_progress: Callable[[int], None]) -> None:
    """COPY the rows into a temporary table (text format, built in chunks)."""
    cursor.execute(f"CREATE TEMP TABLE {_q(STAGE)} (ml_user integer, movie integer, score smallint, ts bigint)")
    with cursor.cursor.copy(f"COPY {_q(STAGE)} (ml_user, movie, score, ts) FROM STDIN") as copy:
        for start in range(0, len(ratings), CHUNK):
            chunk = ratings[start : start + CHUNK]
            copy.write("".join(f"{u}\t{m}\t{s}\t{t}\n" for u, m, s, t in chunk))
            on_progress(len(chunk))
    cursor.execute(f"ANALYZE {_q(STAGE)}")  # a temp table has no statistics; the join plan needs them


def _stage_sqlite(cursor, ratings: list, on_progress: Callable[[int], None]) -> None:
    """executemany into a temporary table: one prepared statement, no variable limit to respect."""
    cursor.execute(f"CREATE TEMP TABLE {_q(STAGE)} (ml_user integer, movie integer, score integer, ts integer)")
    for start in range(0, len(ratings), CHUNK):
        chunk = ratings[start : start + CHUNK]
        cursor.executemany(f"INSERT INTO {_q(STAGE)} VALUES (%s, %s, %s, %s)", chunk)
        on_progress(len(chunk))


# Insert new pairs; update a pair only when its score or time differs, so an unchanged re-run
# rewrites no row. rated_at is written exactly as Django stores an aware UTC datetime.
UPSERT = {
    "postgresql": """
        INSERT INTO {rating} (user_id, movie_id, score, rated_at)
        SELECT p.user_id, s.movie, s.score, to_timestamp(s.ts)
        FROM {stage} s JOIN {profile} p ON p.movielens_id = s.ml_user
        ON CONFLICT (user_id, movie_id) DO UPDATE SET score = EXCLUDED.score, rated_at = EXCLUDED.rated_at
        WHERE {rating}.score <> EXCLUDED.score OR {rating}.rated_at <> EXCLUDED.rated_at
    """,
    "sqlite": """
        INSERT INTO {rating} (user_id, movie_id, score, rated_at)
        SELECT p.user_id, s.movie, s.score, datetime(s.ts, 'unixepoch')
        FROM {stage} s JOIN {profile} p ON p.movielens_id = s.ml_user
        WHERE true
        ON CONFLICT (user_id, movie_id) DO UPDATE SET score = excluded.score, rated_at = excluded.rated_at
        WHERE {rating}.score <> excluded.score OR {rating}.rated_at <> excluded.rated_at
    """,
}
STAGERS = {"postgresql": _stage_postgresql, "sqlite": _stage_sqlite}


@contextmanager
def _foreign_keys_checked_once(cursor, rows: int) -> Iterator[None]:
    """On PostgreSQL, drop the rating foreign keys around a big insert and add them back unchanged.

    Django's deferred foreign keys are checked by one trigger query per row at commit (2 million
    for ML-1M, most of the import time); adding a constraint back checks every row with one join.
    DDL is transactional in PostgreSQL, so a failure restores the constraints with everything else.
    The table is locked for the rest of the transaction, hence only for large imports.
    """
    if connection.vendor != "postgresql" or rows < FK_RECHECK_MIN_ROWS:
        yield
        return
    table = Rating._meta.db_table
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'f'",
        [table],
    )
    constraints = cursor.fetchall()
    for name, _ in constraints:
        cursor.execute(f"ALTER TABLE {_q(table)} DROP CONSTRAINT {_q(name)}")
    yield
    for name, definition in constraints:
        cursor.execute(f"ALTER TABLE {_q(table)} ADD CONSTRAINT {_q(name)} {definition}")


def ratings_write(ratings: list, *, on_progress: Callable[[int], None] = lambda _: None) -> Counts:
    """Upsert all ratings (caller holds the transaction); ratings not in the file are left alone."""
    vendor = connection.vendor
    if vendor not in UPSERT:
        raise MovieLensImportError(f"the bulk import supports SQLite and PostgreSQL, not {vendor}")
    names = _names()
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {names['stage']}")
        STAGERS[vendor](cursor, ratings, on_progress)
        before = Rating.objects.count()
        with _foreign_keys_checked_once(cursor, len(ratings)):
            cursor.execute(UPSERT[vendor].format(**names))
            changed = cursor.rowcount  # inserted + updated rows
        cursor.execute(f"DROP TABLE {names['stage']}")
    created = Rating.objects.count() - before
    return Counts(created=created, updated=changed - created)


SQLITE_CACHE_KIB = 256 * 1024


@contextmanager
def bulk_session() -> Iterator[None]:
    """On SQLite, a 256 MiB page cache while the import writes.

    The default 2 MiB cache spills a million-row transaction to disk over and over (index pages
    evicted and re-read); the old value is restored for whatever uses the connection next.
    """
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        (previous,) = cursor.fetchone()
        cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(previous)}")


def movie_counters_recompute() -> None:
    """Set every movie's rating_count / rating_total from the Rating table (rewriting only stale rows)."""
    # SQLite would walk the movie_id index and fetch each row's score at random; one sequential scan
    # with a temporary GROUP BY b-tree takes half the time.
    names = {**_names(), "scan": "NOT INDEXED" if connection.vendor == "sqlite" else ""}
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE {movie} SET rating_count = agg.n, rating_total = agg.total
            FROM (SELECT movie_id, COUNT(*) AS n, SUM(score) AS total FROM {rating} {scan} GROUP BY movie_id) AS agg
            WHERE agg.movie_id = {movie}.id AND ({movie}.rating_count <> agg.n OR {movie}.rating_total <> agg.total)
            """.format(**names)
        )
        cursor.execute(
            """
            UPDATE {movie} SET rating_count = 0, rating_total = 0
            WHERE (rating_count <> 0 OR rating_total <> 0)
              AND NOT EXISTS (SELECT 1 FROM {rating} r WHERE r.movie_id = {movie}.id)
            """.format(**names)
        )

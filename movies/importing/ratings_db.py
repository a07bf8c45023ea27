"""Ratings into the database: staged chunk by chunk in a temporary table (COPY on PostgreSQL), checked for
duplicate pairs there, then one upsert and the movie counters. Memory does not grow with the number of ratings."""

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from django.db import connection, transaction

from movies.models import Movie, Profile, Rating

from .dataset import MovieLensImportError
from .ratings_file import Row, duplicate_error
from .writers import Counts

STAGE = "movielens_rating_stage"
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


# The stage keeps each row's line number to name a duplicate's. SQLite keys it by (user, movie) and skips a
# repeated pair as it comes (the row count tells); PostgreSQL COPYs without a key and looks for pairs once at the end.
# Scores are floats, the type of Rating.score (double precision / REAL): half stars are kept exactly.
STAGE_TABLE = {
    "postgresql": """CREATE TEMP TABLE {stage} (ml_user integer, movie integer, score double precision, ts bigint,
                     line bigint)""",
    "sqlite": """CREATE TEMP TABLE {stage} (ml_user integer, movie integer, score REAL, ts integer, line integer,
                 PRIMARY KEY (ml_user, movie)) WITHOUT ROWID""",
}


def _stage_postgresql(cursor, rows: list[Row]) -> int:
    """COPY one chunk (text format: a score is written as Python prints it, "4" or "3.5", which double precision
    reads exactly); every row goes in."""
    with cursor.cursor.copy(f"COPY {_q(STAGE)} (ml_user, movie, score, ts, line) FROM STDIN") as copy:
        copy.write("".join(f"{u}\t{m}\t{s}\t{t}\t{n}\n" for u, m, s, t, n in rows))
    return len(rows)


def _stage_sqlite(cursor, rows: list[Row]) -> int:
    """executemany of one chunk; a pair already staged is skipped, so the row count falls short."""
    cursor.executemany(f"INSERT OR IGNORE INTO {_q(STAGE)} VALUES (%s, %s, %s, %s, %s)", rows)
    return cursor.rowcount


STAGERS = {"postgresql": _stage_postgresql, "sqlite": _stage_sqlite}


def _skipped_row(cursor, rows: list[Row]) -> Row:
    """The first row of a chunk that SQLite skipped as a pair already staged (the stage holds the first of each)."""
    cursor.execute(f"SELECT line FROM {_q(STAGE)} WHERE line BETWEEN %s AND %s", [rows[0][4], rows[-1][4]])
    staged = {line for (line,) in cursor.fetchall()}
    return next(row for row in rows if row[4] not in staged)


def _first_duplicate_postgresql(cursor) -> tuple[int, int, int] | None:
    """(line, user, movie) of the earliest line repeating a pair, if any: one aggregate, a sort only when found."""
    cursor.execute(f"SELECT 1 FROM {_q(STAGE)} GROUP BY ml_user, movie HAVING COUNT(*) > 1 LIMIT 1")
    if cursor.fetchone() is None:
        return None
    cursor.execute(
        f"""SELECT line, ml_user, movie FROM (
                SELECT line, ml_user, movie, ROW_NUMBER() OVER (PARTITION BY ml_user, movie ORDER BY line) AS n
                FROM {_q(STAGE)}) AS numbered
            WHERE n > 1 ORDER BY line LIMIT 1"""
    )
    return cursor.fetchone()


def ratings_stage(
    chunks: Iterable[list[Row]], *, file_name: str, on_progress: Callable[[int], None] = lambda _: None
) -> int:
    """Create the stage table and fill it chunk by chunk (one short transaction each); return the rows staged.

    A duplicate (user, movie) pair raises naming the repeating line, and before a bad line the chunks reader
    raises is let through, a duplicate earlier in the file is looked for: the earliest bad line is named.
    The caller drops the stage (stage_drop) whatever happens.
    """
    vendor = connection.vendor
    if vendor not in STAGERS:
        raise MovieLensImportError(f"the bulk import supports SQLite and PostgreSQL, not {vendor}")
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {_q(STAGE)}")
        cursor.execute(STAGE_TABLE[vendor].format(stage=_q(STAGE)))
    staged = 0
    chunks = iter(chunks)
    while True:
        try:
            rows = next(chunks, None)
        except MovieLensImportError:
            _duplicates_check(file_name)
            raise
        if rows is None:
            break
        with transaction.atomic(), connection.cursor() as cursor:
            added = STAGERS[vendor](cursor, rows)
            if added < len(rows):
                user, movie, _, _, line_no = _skipped_row(cursor, rows)
                raise duplicate_error(file_name, line_no, user, movie)
        staged += added
        on_progress(staged)
    _duplicates_check(file_name)
    if vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {_q(STAGE)}")  # a temp table has no statistics; the join plan needs them
    return staged


def _duplicates_check(file_name: str) -> None:
    if connection.vendor != "postgresql":
        return  # SQLite refused them chunk by chunk
    with connection.cursor() as cursor:
        found = _first_duplicate_postgresql(cursor)
    if found is not None:
        raise duplicate_error(file_name, *found)


def stage_drop() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {_q(STAGE)}")


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


def ratings_write(staged: int) -> Counts:
    """Upsert the ``staged`` rows of the stage table (caller holds the transaction); ratings not in the file are
    left alone."""
    names = _names()
    with connection.cursor() as cursor:
        before = Rating.objects.count()
        with _foreign_keys_checked_once(cursor, staged):
            cursor.execute(UPSERT[connection.vendor].format(**names))
            changed = cursor.rowcount  # inserted + updated rows
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
    """Set every movie's rating_count / rating_total from the Rating table (rewriting only stale rows).

    rating_total is the float sum of the scores: sums of half stars are exact in a double, so the comparison with
    the stored total is exact too and an unchanged re-run rewrites no row."""
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

"""Export the database into the ML package's arrays (Catalog, Users, Interactions): the only bridge ORM -> numpy."""

import numpy as np
from django.db import connection

from movies.models import Movie, Profile, Rating
from recommender.ml.data import INT32_MAX, Catalog, Dataset, Interactions, Users


def catalog_export() -> Catalog:
    """Every movie with its genres, ordered by id."""
    genres: dict[int, list[str]] = {}
    through = Movie.genres.through
    for movie_id, name in through.objects.order_by("movie_id", "genre__name").values_list("movie_id", "genre__name"):
        genres.setdefault(movie_id, []).append(name)
    rows = list(Movie.objects.order_by("id").values_list("id", "title", "year"))
    return Catalog(
        movie_ids=np.array([r[0] for r in rows], dtype=np.int64),
        titles=[r[1] for r in rows],
        genres=[genres.get(r[0], []) for r in rows],
        years=np.array([r[2] or 0 for r in rows], dtype=np.int32),
    )


def users_export(user_ids=None) -> Users:
    """Demographics for users (Django user pk); users without a profile get unknowns."""
    qs = Profile.objects.order_by("user_id")
    if user_ids is not None:
        qs = qs.filter(user_id__in=list(user_ids))
    rows = list(qs.values_list("user_id", "gender", "age", "occupation"))
    return Users(
        user_ids=np.array([r[0] for r in rows], dtype=np.int64),
        genders=[r[1] or "" for r in rows],
        ages=np.array([r[2] or 0 for r in rows], dtype=np.int32),
        occupations=np.array([-1 if r[3] is None else r[3] for r in rows], dtype=np.int32),
    )


def _epoch_sql() -> str:
    if connection.vendor == "postgresql":
        return "CAST(EXTRACT(EPOCH FROM rated_at) AS BIGINT)"
    return "CAST(strftime('%s', rated_at) AS INTEGER)"


EXPORT_CHUNK = 100_000  # rating rows fetched and converted at a time


def interactions_export(chunk: int | None = None) -> Interactions:
    """Every rating as arrays, read in chunks of ``chunk`` rows (default EXPORT_CHUNK) into preallocated arrays.

    Raw SQL because building a million datetime objects costs seconds; a server-side cursor on PostgreSQL (the
    client would otherwise buffer the whole result), so memory holds the arrays plus one chunk of tuples.
    """
    chunk = chunk or EXPORT_CHUNK
    sql = f"SELECT user_id, movie_id, score, {_epoch_sql()} FROM movies_rating"  # noqa: S608 (no user input)
    capacity = Rating.objects.count() + chunk  # ratings added meanwhile grow the arrays below
    # ids int32 as Interactions keeps them (widened here at the first id that does not fit), so no copy is made
    columns = [np.empty(capacity, dtype=dtype) for dtype in (np.int32, np.int32, np.float32, np.int64)]
    filled = 0
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql)
        while rows := cursor.fetchmany(chunk):
            # one chunk: user, movie, score, timestamp. float64 holds the ids and timestamps exactly (< 2**53) and keeps
            # half-star scores, which an integer array would truncate
            block = np.array(rows, dtype=np.float64).reshape(-1, 4)
            if columns[0].dtype == np.int32 and (block[:, :2].min() < 0 or block[:, :2].max() > INT32_MAX):
                columns[:2] = [column.astype(np.int64) for column in columns[:2]]
            if filled + len(block) > len(columns[0]):
                columns = [np.concatenate([column, np.empty_like(column)]) for column in columns]
            for column, values in zip(columns, block.T, strict=True):
                column[filled : filled + len(block)] = values
            filled += len(block)
    user_ids, movie_ids, scores, timestamps = (column[:filled] for column in columns)
    return Interactions(user_ids=user_ids, movie_ids=movie_ids, scores=scores, timestamps=timestamps)


def dataset_export() -> Dataset:
    """The whole database as one Dataset (what training reads)."""
    return Dataset(catalog=catalog_export(), users=users_export(), interactions=interactions_export())

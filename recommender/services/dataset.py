"""Export the database into the ML package's arrays (Catalog, Users, Interactions): the only bridge ORM -> numpy."""

import numpy as np
from django.db import connection

from movies.models import Movie, Profile
from recommender.ml.data import Catalog, Dataset, Interactions, Users


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


def interactions_export() -> Interactions:
    """Every rating as arrays; raw SQL because building a million datetime objects costs seconds."""
    sql = f"SELECT user_id, movie_id, score, {_epoch_sql()} FROM movies_rating"  # noqa: S608 (no user input)
    with connection.cursor() as cursor:
        cursor.execute(sql)
        rows = cursor.fetchall()
    data = np.array(rows, dtype=np.int64).reshape(-1, 4)
    return Interactions(
        user_ids=data[:, 0].copy(),
        movie_ids=data[:, 1].copy(),
        scores=data[:, 2].astype(np.float32),
        timestamps=data[:, 3].copy(),
    )


def dataset_export() -> Dataset:
    """The whole database as one Dataset (what training reads)."""
    return Dataset(catalog=catalog_export(), users=users_export(), interactions=interactions_export())

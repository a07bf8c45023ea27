"""Serving, step 6 (the order: services/recommendations.py): hydrate. Movie rows (with their genres) for
recommendation lists: the database, behind two caches.

Each process keeps the rows it served in memory; behind that, the shared cache (Redis in production) holds them
for every process; misses are read in one query. Rows change only when a movie is edited or re-rated, so each
level keeps a row for MOVIE_CACHE_SECONDS (an average shown may lag up to twice that). A generation token in the
shared cache ties the in-process copies to it: clearing the shared cache (deploys, tests) drops them everywhere.

The rows are shared between requests and threads: callers read them, never change them.
"""

import threading
import time
import uuid

from django.core.cache import cache

from movies.models import Movie
from movies.selectors import movies_by_ids

MOVIE_CACHE_SECONDS = 60
LOCAL_MAX = 20_000  # rows one process keeps (MovieLens 1M has 3,883 movies); beyond it the memory starts afresh
GENERATION_KEY = "movie-rows-generation"

_lock = threading.Lock()
_local: dict[int, tuple[float, Movie]] = {}  # movie id -> (expires at, row)
_generation: str | None = None


def _local_rows(generation: str) -> dict[int, tuple[float, Movie]]:
    global _generation
    with _lock:
        if generation != _generation or len(_local) > LOCAL_MAX:
            _local.clear()
            _generation = generation
        return _local


def movie_details(ids) -> dict[int, Movie]:
    """Movies by id with genres prefetched: this process's memory, then the shared cache (one get_many), then
    one query for the rest."""
    ids = [int(i) for i in ids]
    now = time.monotonic()
    generation = cache.get_or_set(GENERATION_KEY, uuid.uuid4().hex, None)
    local = _local_rows(str(generation))
    found = {}
    for movie_id in ids:
        entry = local.get(movie_id)
        if entry is not None and entry[0] > now:
            found[movie_id] = entry[1]
    missing = [i for i in ids if i not in found]
    if missing:
        keys = {f"movie:{i}": i for i in missing}
        shared = {keys[k]: m for k, m in cache.get_many(list(keys)).items()}
        fresh = movies_by_ids([i for i in missing if i not in shared])
        if fresh:
            cache.set_many({f"movie:{i}": m for i, m in fresh.items()}, MOVIE_CACHE_SECONDS)
        expires = now + MOVIE_CACHE_SECONDS
        for movie_id, movie in {**shared, **fresh}.items():
            local[movie_id] = (expires, movie)
            found[movie_id] = movie
    return found


def hydrate(picks: list[int], because: dict[int, int] | None = None) -> dict[int, Movie]:
    """The rows of the picks and of the movies that explain them (step 5), in one read."""
    return movie_details(list(picks) + list((because or {}).values()))

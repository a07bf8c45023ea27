"""Serving, step 2 (the order: services/recommendations.py): candidates, the movies a request chooses from.

A Milvus search of the live version's collection with the user's vector, the movies the user rated or is not
interested in left out inside Milvus and a genre or year filter applied there too; for ranking given movies, those
movies scored by the tower; for similar movies, a movie's co-rating neighbours and its nearest movie vectors.
"""

import numpy as np

from movies.selectors import genre_names
from recommender.serving import LiveModel
from recommender.vectorstore import get_vector_store

RANKED_FETCH = 50  # a search beyond the pool fetches at least this many hits when the second stage re-orders them
# Excluded movies are left out inside Milvus ("not in" over ~1,000 ids costs ~5 ms; fetching 1,000 extra hits
# ~30 ms); only beyond this many does the store over-fetch and drop them (exclude_per_query).
EXCLUDE_IN_FILTER_MAX = 5000


def search(live: LiveModel, vector, *, k: int, excluded: set[int], genre=None, year_min=None, year_max=None):
    """One Milvus search of the live collection, leaving out ``excluded`` (inside Milvus up to
    EXCLUDE_IN_FILTER_MAX ids, by over-fetching beyond)."""
    store = get_vector_store()
    filters = {"year_min": year_min, "year_max": year_max, "collection": live.collection}
    if genre:
        filters.update(genres=[genre], known_genres=set(genre_names()))
    if len(excluded) <= EXCLUDE_IN_FILTER_MAX:
        return store.search(vector, k=k, exclude_ids=excluded, **filters)
    return store.search_many(vector[None, :], k=k, exclude_per_query=[excluded], **filters)[0]


def candidates(live: LiveModel, state, *, k: int, also_excluded: set[int] = frozenset(), **filters):
    """A search for the user of ``state`` (services/user_state.UserState: its vector, its left-out movies, plus
    ``also_excluded``) beyond the cached pool: filters, more than POOL hits, or a home row the pool cannot fill.
    With a ranker to follow (step 3) it fetches at least RANKED_FETCH hits. Every hit fetched, in Milvus's order."""
    excluded = state.excluded | also_excluded if also_excluded else state.excluded
    return search(live, state.vector, k=max(k, RANKED_FETCH) if live.ranker else k, excluded=excluded, **filters)


def scored(live: LiveModel, vector, movie_ids: list[int]) -> list[tuple[int, float]]:
    """Given movies as candidates (ranking a list for a user): those the version has vectors for, with the tower's
    score for ``vector``, best first. No Milvus search."""
    known = [m for m in movie_ids if m in live.row_of]
    scores = live.vectors_for(known) @ vector if known else np.zeros(0)
    return sorted(zip(known, scores.tolist(), strict=True), key=lambda h: -h[1])


def nearest(live: LiveModel, movie_id: int, *, k: int, excluded: list[int]) -> list[tuple[int, float]]:
    """The movies whose vectors are nearest to ``movie_id``'s (a Milvus search), leaving out ``excluded``."""
    vector = live.vectors_for([movie_id])[0]
    return get_vector_store().search(vector, k=k, exclude_ids=excluded, collection=live.collection)


def co_rated(live: LiveModel, movie_id: int, *, k: int) -> list[tuple[int, float]]:
    """The movies rated by the same people as ``movie_id`` (the neighbours saved with the version; none for older
    versions), best first."""
    return live.neighbours.of(movie_id)[:k] if live.neighbours else []

"""A user's suggestion state: what the user tower read, the user vector, the movies left out and the best POOL
candidates of one unfiltered Milvus search (in the second stage's order, services/ranking.py) — computed once,
then shared by every row of a page and every request until something it depends on changes.

Cached under the user's profile stamp (``Profile.feed_version``, bumped in the transaction of every rating or
"not interested" write, see movies.services.feed_changed) and demographics, and only used while the model version
it was computed with still serves. So a write shows on the very next request, in any process and with any cache
backend (the stamp is read from the database with the demographics, one query that was needed anyway), and a
repeat visit costs one query and one cache read. Users without a profile are computed on every request.
RECS_CACHE_SECONDS bounds the life of an entry (0: no caching).
"""

from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.core.cache import cache

from movies.models import Profile
from movies.selectors import genre_names, hidden_movie_ids, user_history
from recommender.ml import ranker
from recommender.serving import LiveModel, live_model
from recommender.vectorstore import get_vector_store

from .ranking import Profile as Demographics
from .ranking import rerank

POOL = ranker.POOL  # candidates kept per user (what the ranker was trained to order): every row is cut from them
STATE_FORMAT = 2  # part of the cache key: bumped when UserState's fields change, so no process reads an older shape
RANKED_FETCH = 50  # a search beyond the pool fetches at least this many hits when the second stage re-orders them
REASONS_FROM = 500  # "Because you rated X": X among the user's most recent liked movies
# Excluded movies are left out inside Milvus ("not in" over ~1,000 ids costs ~5 ms; fetching 1,000 extra hits
# ~30 ms); only beyond this many does the store over-fetch and drop them (exclude_per_query).
EXCLUDE_IN_FILTER_MAX = 5000


class NoSignal(Exception):
    """Nothing for the user tower to read (no rating, blank profile): callers fall back to popularity."""


def because(live: LiveModel, picks: list[int], history: tuple[list[int], list[int]]) -> dict[int, int]:
    """For each pick, the rated movie closest to it in vector space (preferring movies rated 4-5, among the
    REASONS_FROM most recent: a heavy user's whole history would cost a [200 x 2,000] product per state)."""
    rated_ids, scores = history
    liked = [m for m, s in zip(rated_ids, scores, strict=True) if s >= 4] or list(rated_ids)
    liked = [m for m in liked[-REASONS_FROM:] if m in live.row_of]
    known = [m for m in picks if m in live.row_of]
    if not liked or not known:
        return {}
    sims = live.vectors_for(known) @ live.vectors_for(liked).T  # [P, L]
    return {pick: liked[int(j)] for pick, j in zip(known, sims.argmax(axis=1), strict=True)}


@dataclass
class UserState:
    model: tuple[int, str]  # (version number, collection) the vector and pool were computed with
    history: tuple[list[int], list[int]]  # (movie ids, scores) oldest first, as the tower read them
    demographics: Demographics  # (gender, age, occupation) for the ranker
    excluded: set[int]  # rated or "not interested"
    vector: np.ndarray
    pool: list[tuple[int, float]]  # the best POOL unfiltered hits, in the ranker's order when there is one
    pool_because: dict[int, int]  # pool movie -> the rated movie it is most like ("Because you rated ...")

    def reasons(self, live: LiveModel, picks: list[int]) -> dict[int, int]:
        """The "because" movie of each pick: worked out once for the pool (a heavy user's ~2,000 liked movies
        made it the costliest step of a request), here only for picks from a filtered search."""
        found = {m: self.pool_because[m] for m in picks if m in self.pool_because}
        rest = [m for m in picks if m not in found]
        return found | (because(live, rest, self.history) if rest else {})

    def ranked(self, live: LiveModel, hits: list[tuple[int, float]]) -> list[tuple[int, float]]:
        """Scored hits in the second stage's order (as the pool is)."""
        return rerank(live, hits, self.history[0], self.demographics)

    def search_ranked(self, live: LiveModel, *, k: int, also_excluded: set[int] = frozenset(), **filters):
        """A search beyond the pool (filters, or more than POOL) with this state's vector, in the second stage's
        order; with a ranker it chooses from at least RANKED_FETCH hits. Every hit fetched, best first."""
        excluded = self.excluded | also_excluded if also_excluded else self.excluded
        hits = search(live, self.vector, k=max(k, RANKED_FETCH) if live.ranker else k, excluded=excluded, **filters)
        return self.ranked(live, hits)


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


def user_state(user) -> tuple[LiveModel, UserState]:
    """The live model and the user's state, from the cache when still valid.

    Raises NoSignal, or NoLiveModel / VectorStoreError (recommender.serving) when no model can serve.
    """
    row = Profile.objects.filter(user_id=user.pk).values_list("gender", "age", "occupation", "feed_version").first()
    gender, age, occupation, stamp = row or ("", 0, None, None)
    key = f"user-state:{STATE_FORMAT}:{user.pk}:{stamp}:{gender}:{age}:{occupation}"
    seconds = settings.RECS_CACHE_SECONDS
    cached = cache.get(key) if stamp is not None and seconds > 0 else None
    history = cached.history if cached is not None else user_history(user_id=user.pk)
    if not (history[0] or gender or age or occupation is not None):
        raise NoSignal("no ratings or profile yet: popular movies")
    live = live_model(user_id=user.pk, rated=bool(history[0]))  # an experiment's arm (issue #25)
    if cached is not None and cached.model == (live.version.number, live.collection):
        return live, cached
    inputs = {"user_id": user.pk, "gender": gender, "age": age, "occupation": occupation, "history": history}
    vector = live.user_vector(**inputs)
    excluded = set(history[0]) | hidden_movie_ids(user_id=user.pk)
    demographics = (gender or "", age or 0, -1 if occupation is None else occupation)
    pool = rerank(live, search(live, vector, k=POOL, excluded=excluded), history[0], demographics)
    reasons = because(live, [m for m, _ in pool], history)
    state = UserState((live.version.number, live.collection), history, demographics, excluded, vector, pool, reasons)
    if stamp is not None and seconds > 0:
        cache.set(key, state, seconds)
    return live, state

"""Serving, step 1 (the order: services/recommendations.py): the user's state. What the user tower read, the
user vector, the movies left out and the best POOL candidates of one unfiltered Milvus search (steps 2 and 3:
services/candidates.py, services/ranking.py) with their explanations (step 5, services/explain.py) — computed
once, then shared by every row of a page and every request until something it depends on changes.

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
from movies.selectors import hidden_movie_ids, user_history
from recommender.ml import ranker
from recommender.serving import LiveModel, live_model

from .candidates import candidates
from .explain import because
from .ranking import Profile as Demographics
from .ranking import rank

POOL = ranker.POOL  # candidates kept per user (what the ranker was trained to order): every row is cut from them
STATE_FORMAT = 2  # part of the cache key: bumped when UserState's fields change, so no process reads an older shape


class NoSignal(Exception):
    """Nothing for the user tower to read (no rating, blank profile): callers fall back to popularity."""


@dataclass
class UserState:
    model: tuple[int, str]  # (version number, collection) the vector and pool were computed with
    history: tuple[list[int], list[int]]  # (movie ids, scores) oldest first, as the tower read them
    demographics: Demographics  # (gender, age, occupation) for the ranker
    excluded: set[int]  # rated or "not interested"
    vector: np.ndarray
    pool: list[tuple[int, float]]  # the best POOL unfiltered hits, in the ranker's order when there is one
    pool_because: dict[int, int]  # pool movie -> the rated movie it is most like ("Because you rated ...")


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
    state = UserState((live.version.number, live.collection), history, demographics, excluded, vector, [], {})
    state.pool = rank(live, state, candidates(live, state, k=POOL))  # steps 2-3 of an unfiltered request
    state.pool_because = because(live, [m for m, _ in state.pool], history)  # step 5 for the whole pool
    if stamp is not None and seconds > 0:
        cache.set(key, state, seconds)
    return live, state

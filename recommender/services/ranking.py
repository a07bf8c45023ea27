"""Serving, step 3 (the order: services/recommendations.py): rank. The live version's ranker (the second stage,
recommender/ml/ranker.py) re-orders the candidates.

A version has a ranker only when its pipeline kept one (it beat the tower's own order on the holdout); without
one the hits keep Milvus's order. Movies the ranker does not know (added after training) follow the ranked ones.
"""

import numpy as np

from recommender.ml.data import lookup
from recommender.serving import LiveModel

Profile = tuple[str, int, int]  # (gender "M"/"F"/"", age code, occupation code or -1)


def rank(live: LiveModel, state, hits: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """Scored hits in the second stage's order for the user of ``state`` (services/user_state.UserState: the
    history and demographics the ranker reads), as the cached pool is."""
    return rerank(live, hits, state.history[0], state.demographics)


def rerank(live: LiveModel, hits: list[tuple[int, float]], history_ids, profile: Profile) -> list[tuple[int, float]]:
    """(movie id, score) best first: the ranker's score and order when the version has a ranker, else ``hits``."""
    return rerank_many(live, [hits], [history_ids], [profile])[0]


def rerank_many(live: LiveModel, hits: list, histories: list, profiles: list[Profile]) -> list:
    """rerank() for several users with one call to the ranker (batch jobs)."""
    ranker = live.ranker
    if ranker is None:
        return hits
    ids = [np.array([m for m, _ in h], dtype=np.int64) for h in hits]
    rows = [lookup(ranker.context.movie_ids, i) for i in ids]
    queries = []
    for one, r, history, profile in zip(hits, rows, histories, profiles, strict=True):
        tower = np.array([s for _, s in one], dtype=np.float32)
        known = lookup(ranker.context.movie_ids, np.asarray(history, dtype=np.int64))
        queries.append((r[r >= 0], tower[r >= 0], known, profile))
    out = []
    for movie_ids, r, (ordered, scores) in zip(ids, rows, ranker.order_many(queries), strict=True):
        ranked = [(int(m), float(s)) for m, s in zip(ranker.context.movie_ids[ordered].tolist(), scores, strict=True)]
        floor = min((s for _, s in ranked), default=0.0)
        out.append(ranked + [(int(m), floor - 1.0 - i) for i, m in enumerate(movie_ids[r < 0].tolist())])
    return out

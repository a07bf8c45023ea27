"""The second stage at serving time: the live version's ranker (recommender/ml/ranker.py) re-orders Milvus hits.

A version has a ranker only when its pipeline kept one (it beat the tower's own order on the holdout); without
one the hits keep Milvus's order. Movies the ranker does not know (added after training) follow the ranked ones.
"""

import numpy as np

from recommender.ml.data import lookup
from recommender.serving import LiveModel

Profile = tuple[str, int, int]  # (gender "M"/"F"/"", age code, occupation code or -1)


def rerank(live: LiveModel, hits: list[tuple[int, float]], history_ids, profile: Profile) -> list[tuple[int, float]]:
    """(movie id, score) best first: the ranker's score and order when the version has a ranker, else ``hits``."""
    ranker = live.ranker
    if ranker is None or len(hits) < 2:
        return hits
    ids = np.array([m for m, _ in hits], dtype=np.int64)
    rows = lookup(ranker.context.movie_ids, ids)
    known = rows >= 0
    tower = np.array([s for _, s in hits], dtype=np.float32)
    history = lookup(ranker.context.movie_ids, np.asarray(history_ids, dtype=np.int64))
    ordered, scores = ranker.order(rows[known], tower[known], history, profile)
    ranked = [(int(m), float(s)) for m, s in zip(ranker.context.movie_ids[ordered].tolist(), scores, strict=True)]
    floor = min((s for _, s in ranked), default=0.0)
    return ranked + [(int(m), floor - 1.0 - i) for i, m in enumerate(ids[~known].tolist())]

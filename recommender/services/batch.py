"""Bulk recommendation: top-k files for many users (batch jobs) and candidate recall for raw histories."""

import csv
import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from core.exceptions import ApplicationError
from movies.models import Profile, Rating
from movies.selectors import movielens_ids_unknown
from recommender.ml.data import Users
from recommender.serving import LiveModel, live_model
from recommender.vectorstore import VectorStoreError, get_vector_store

from .candidates import search
from .dataset import users_export
from .ranking import rerank_many
from .user_state import POOL

log = logging.getLogger(__name__)
CHUNK = 200  # users read from the database and encoded together
SEARCH_CHUNK = 16  # users per retried group of searches (and per ranker call)
SEARCH_RETRIES = 3  # a search that times out (a busy machine) is retried after a pause, then the job fails
SEARCH_THREADS = 2  # Milvus calls in flight while the next chunk is encoded


def _histories(user_pks: list[int]) -> dict[int, tuple[list[int], list[float]]]:
    out: dict[int, tuple[list[int], list[float]]] = {pk: ([], []) for pk in user_pks}
    rows = Rating.objects.filter(user_id__in=user_pks).order_by("user_id", "rated_at", "movie_id")
    for user_id, movie_id, score in rows.values_list("user_id", "movie_id", "score").iterator(chunk_size=20000):
        out[user_id][0].append(movie_id)
        out[user_id][1].append(float(score))
    return out


def _search_chunk(live: LiveModel, vectors: np.ndarray, k: int, exclude: list[np.ndarray]):
    """One small group of users' searches, each as the site searches (candidates.search: the rated movies left out
    inside Milvus; a grouped call over-fetched by the group's longest history and was 4x slower at 200 hits), the
    group retried with back-off when the store times out or drops the connection."""

    def once() -> list[list[tuple[int, float]]]:
        pairs = zip(vectors, exclude, strict=True)
        return [search(live, vector, k=k, excluded=set(rated.tolist())) for vector, rated in pairs]

    for attempt in range(1, SEARCH_RETRIES):
        try:
            return once()
        except VectorStoreError as exc:
            log.warning("batch search failed (attempt %s of %s), retrying: %s", attempt, SEARCH_RETRIES, exc)
            time.sleep(attempt)
    return once()


def _search_ranked(live: LiveModel, vectors, k: int, histories: list[np.ndarray], users: Users) -> list[list[int]]:
    """Top-k movie ids per query: Milvus's order, or the version's ranker's over the best POOL hits (as the site)."""
    found = _search_chunk(live, vectors, max(k, POOL) if live.ranker else k, histories)
    profiles = list(zip(users.genders, users.ages.tolist(), users.occupations.tolist(), strict=True))
    return [[m for m, _ in hits[:k]] for hits in rerank_many(live, found, histories, profiles)]


def _top_k_submit(pool: ThreadPoolExecutor, users: Users, k: int) -> list[tuple[np.ndarray, Future]]:
    """Encode the users now and queue their Milvus searches on ``pool``: [(rows, future of their top-k lists)].

    Users are searched in small groups (of similar history length: similar search cost), each group retried on its
    own, so one slow call never fails a whole chunk. The searches (and the ranker, when the version has one) run
    while the caller encodes the next chunk (the Milvus process and the model share the cores).
    """
    live = live_model()
    hist = _histories([int(u) for u in users.user_ids])
    pairs = [
        (np.array(hist[int(u)][0], dtype=np.int64), np.array(hist[int(u)][1], dtype=np.float32)) for u in users.user_ids
    ]
    vectors = live.model.user_vectors(users, pairs)
    by_length = np.argsort([len(p[0]) for p in pairs], kind="stable")
    groups = [by_length[start : start + SEARCH_CHUNK] for start in range(0, len(by_length), SEARCH_CHUNK)]
    return [
        (
            rows,
            pool.submit(
                _search_ranked, live, vectors[rows], k, [pairs[r][0] for r in rows], users.select(users.user_ids[rows])
            ),
        )
        for rows in groups
    ]


def _top_k_collect(n: int, searches: list[tuple[np.ndarray, Future]]) -> list[list[int]]:
    """Top-k movie ids per user (never a movie the user rated), in the users' order, once their searches end."""
    results: list[list[int]] = [[] for _ in range(n)]
    for rows, future in searches:
        for r, items in zip(rows, future.result(), strict=True):
            results[r] = items
    return results


def _selected_profiles(movielens_ids: list[int] | None) -> list[tuple[int, int]]:
    """(django user pk, MovieLens id) of the chosen MovieLens users, all of them when none are named."""
    qs = Profile.objects.exclude(movielens_id=None).order_by("movielens_id")
    if movielens_ids:
        unknown = movielens_ids_unknown(movielens_ids)
        if unknown:
            raise ApplicationError(
                f"unknown MovieLens user ids: {unknown[:20]}", {"field": "users", "ids": unknown[:100]}
            )
        qs = qs.filter(movielens_id__in=movielens_ids)
    return list(qs.values_list("user_id", "movielens_id"))


def batch_recommend_write(
    *,
    k: int,
    output: Path,
    movielens_ids: list[int] | None = None,
    fmt: str = "jsonl",
    on_progress: Callable[[int, int], None] | None = None,
) -> int:
    """Write {"user_id": <MovieLens id>, "items": [movie ids best first]} per user (JSONL) or user_id,rank,movie_id
    rows (CSV); written to a temporary name and renamed, so a reader never sees half a file. Returns the user count."""
    if fmt not in {"jsonl", "csv"}:
        raise ApplicationError(f"unknown format {fmt!r}: use jsonl or csv", {"field": "format"})
    if not 1 <= k <= 1000:
        raise ApplicationError("k must be between 1 and 1000", {"field": "k"})
    chosen = _selected_profiles(movielens_ids)
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_suffix(output.suffix + ".partial")
    try:
        _write(partial, chosen, k, fmt, on_progress)
    except BaseException:
        partial.unlink(missing_ok=True)  # a failed job leaves no half file behind
        raise
    partial.replace(output)
    return len(chosen)


def _write(path: Path, chosen: list[tuple[int, int]], k: int, fmt: str, on_progress) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh, ThreadPoolExecutor(SEARCH_THREADS) as pool:
        writer = csv.writer(fh) if fmt == "csv" else None
        if writer:
            writer.writerow(["user_id", "rank", "movie_id"])

        def emit(chunk, users, searches) -> None:
            by_pk = dict(chunk)
            for pk, items in zip(users.user_ids, _top_k_collect(len(chunk), searches), strict=True):
                if writer:
                    writer.writerows([by_pk[int(pk)], rank, m] for rank, m in enumerate(items, 1))
                else:
                    fh.write(json.dumps({"user_id": by_pk[int(pk)], "items": items}) + "\n")

        pending, done = None, 0
        for start in range(0, len(chosen), CHUNK):  # encode chunk i+1 while chunk i's searches run
            chunk = chosen[start : start + CHUNK]
            users = users_export([pk for pk, _ in chunk])
            submitted = (chunk, users, _top_k_submit(pool, users, k))
            if pending is not None:
                emit(*pending)
                done += len(pending[0])
                if on_progress:
                    on_progress(done, len(chosen))
            pending = submitted
        if pending is not None:
            emit(*pending)
            if on_progress:
                on_progress(len(chosen), len(chosen))


def candidates_recall(*, histories: list[list[int]], top_k: int) -> list[list[int]]:
    """For each raw history (movie ids), the top_k movie ids from the live model, excluding the inputs."""
    live = live_model()
    n = len(histories)
    users = Users(
        user_ids=np.full(n, -1, dtype=np.int64),
        genders=[""] * n,
        ages=np.zeros(n, dtype=np.int32),
        occupations=np.full(n, -1, dtype=np.int32),
    )
    pairs = [(np.array(h, dtype=np.int64), np.full(len(h), 5.0, dtype=np.float32)) for h in histories]
    vectors = live.model.user_vectors(users, pairs)
    results = get_vector_store().search_many(vectors, k=top_k, exclude_per_query=histories, collection=live.collection)
    return [[m for m, _ in hits] for hits in results]

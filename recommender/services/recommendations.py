"""Recommendations for the site, the API and batch jobs: user vector -> Milvus search -> the version's ranker
(when it has one) -> exploration / diversity -> hydrate.

Freshness: the user's vector, exclusions and candidate pool come from user_state, cached under a stamp that every
rating and "not interested" write bumps in its own transaction, so a write shapes the very next answer, in any
process. Movie rows come from movie_rows.movie_details (in-process and shared caches). Any failure of the vector
store or a missing model degrades to popularity, flagged, and logged when it begins and ends (serving.fallback), not
on each request.
"""

import uuid
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from movies.models import Movie
from movies.selectors import hidden_movie_ids, movie_list
from recommender.ml.neighbours import blend
from recommender.serving import NoLiveModel, fallback_enter, fallback_leave, live_model
from recommender.vectorstore import VectorStoreError, get_vector_store

from .movie_rows import movie_details
from .user_state import POOL, NoSignal, user_state

LONG_TAIL_MAX_RATINGS = 50  # "few ratings" for exploration


class Source(StrEnum):
    """Where a recommended movie came from (the API's ``source``)."""

    TWO_TOWER = "two_tower"  # a Milvus search with the user's vector (or the user tower's score of given movies)
    POPULARITY = "popularity"  # the most-rated movies: cold start and fallback
    CO_RATINGS = "co_ratings"  # similar movies: rated by the same people
    VECTORS = "vectors"  # similar movies: the nearest movie vectors in Milvus
    BOTH = "co_ratings+vectors"  # similar movies found by both


@dataclass
class RecommendedItem:
    movie: Movie
    score: float
    because: Movie | None = None
    source: Source = Source.TWO_TOWER


@dataclass
class Recommendations:
    items: list[RecommendedItem] = field(default_factory=list)
    fallback: bool = False
    fallback_reason: str = ""
    model_version: int | None = None
    impression_id: uuid.UUID | None = None  # set by recommender.impressions.services.impressions_record when shown


def _hydrate(
    scored: list[tuple[int, float]],
    because: dict[int, int] | None = None,
    movies: dict[int, Movie] | None = None,
    *,
    source: Source | dict[int, Source],
) -> list[RecommendedItem]:
    """Movie rows for (movie id, score) pairs, with the reason movie and the source (one for all, or per movie);
    ``movies`` when the caller read them already."""
    if movies is None:
        movies = movie_details([m for m, _ in scored] + list((because or {}).values()))
    items = []
    for movie_id, score in scored:
        if movie_id in movies:
            reason = movies.get((because or {}).get(movie_id))
            where = source[movie_id] if isinstance(source, dict) else source
            items.append(RecommendedItem(movie=movies[movie_id], score=float(score), because=reason, source=where))
    return items


# --- popularity (cold start and fallback) -----------------------------------------------------------------


def popular_movies(
    *, k: int = 10, user=None, genre: str | None = None, year_min=None, year_max=None, exclude_rated: bool = True
) -> Recommendations:
    """Most-rated movies, without those the user is not interested in nor (unless ``exclude_rated`` is False)
    those they rated: one query."""
    signed_in = user is not None and getattr(user, "is_authenticated", False)
    qs = movie_list(
        genre=genre or "", year_min=year_min, year_max=year_max, sort="popularity",
        exclude_rated_by=user if signed_in and exclude_rated else None, hidden_by=user if signed_in else None,
    )  # fmt: skip
    rows = list(qs.values_list("id", "rating_count")[:k])
    top = max([c for _, c in rows], default=1) or 1
    return Recommendations(items=_hydrate([(m, c / top) for m, c in rows], source=Source.POPULARITY))


def _fallback(reason: str, **kwargs) -> Recommendations:
    result = popular_movies(**kwargs)
    result.fallback, result.fallback_reason = True, reason
    return result


# --- personalised -----------------------------------------------------------------------------------------


def _explore(hits: list[tuple[int, float]], k: int, explore: float) -> list[tuple[int, float]]:
    """Reserve round(k * explore) slots for the best-matched movies with few ratings (exploration weight)."""
    slots = round(k * explore)
    if slots <= 0:
        return hits[:k]
    counts = dict(Movie.objects.filter(pk__in=[m for m, _ in hits]).values_list("id", "rating_count"))
    tail = [h for h in hits if counts.get(h[0], 0) <= LONG_TAIL_MAX_RATINGS][:slots]
    head = [h for h in hits if h not in tail][: k - len(tail)]
    return sorted(head + tail, key=lambda h: -h[1])


def _diversify(hits: list[tuple[int, float]], k: int, max_per_genre: int | None) -> list[tuple[int, float]]:
    """At most max_per_genre results share a first genre (greedy, best first)."""
    if not max_per_genre:
        return hits[:k]
    movies = movie_details([m for m, _ in hits])
    used: dict[str, int] = {}
    kept = []
    for movie_id, score in hits:
        names = [g.name for g in movies[movie_id].genres.all()] if movie_id in movies else []
        first = names[0] if names else ""
        if used.get(first, 0) < max_per_genre:
            used[first] = used.get(first, 0) + 1
            kept.append((movie_id, score))
        if len(kept) == k:
            break
    return kept


def recommend_for_user(
    *, user, k: int = 10, genre=None, year_min=None, year_max=None, explore: float = 0.0, max_per_genre=None
) -> Recommendations:
    """Top-k movies for a user from the live model; popularity (flagged) when no model or store can serve.

    Unfiltered requests are cut from the user's candidate pool (user_state); a genre or year filter, or a pool
    too small for k, asks Milvus again with the same user vector."""
    kwargs = {"k": k, "user": user, "genre": genre, "year_min": year_min, "year_max": year_max}
    if user is None or not getattr(user, "is_authenticated", False):
        return popular_movies(**kwargs)
    wanted = k * 5 if (explore or max_per_genre) else k
    try:
        live, state = user_state(user)
        if genre or year_min is not None or year_max is not None or wanted > POOL:
            hits = state.search_ranked(live, k=wanted, genre=genre, year_min=year_min, year_max=year_max)[:wanted]
        else:
            hits = state.pool[:wanted]
    except NoSignal as exc:
        return _fallback(str(exc), **kwargs)
    except (NoLiveModel, VectorStoreError) as exc:
        fallback_enter(exc)
        return _fallback(str(exc), **kwargs)
    fallback_leave(live.version.number)
    hits = _diversify(_explore(hits, len(hits) if max_per_genre else k, explore), k, max_per_genre)
    items = _hydrate(hits, state.reasons(live, [m for m, _ in hits]), source=Source.TWO_TOWER)
    return Recommendations(items=items, model_version=live.version.number)


@dataclass
class HomeRows:
    for_you: Recommendations
    genre_rows: list[tuple[str, Recommendations]] = field(default_factory=list)


def _leaning_genres(genre_sets: list, n: int) -> list[str]:
    """The genres most frequent among the suggestions (each suggestion given as its collection of genre names)."""
    counts: dict[str, int] = {}
    for names in genre_sets:
        for name in names:
            counts[name] = counts.get(name, 0) + 1
    return [name for name, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]]


def _home_fallback(user, k: int, rows: int, row_k: int) -> HomeRows:
    """No model for this user (anonymous, blank profile, no live model): each row from recommend_for_user."""
    result = HomeRows(recommend_for_user(user=user, k=k))
    shown = {item.movie.pk for item in result.for_you.items}
    leaning = [[g.name for g in item.movie.genres.all()] for item in result.for_you.items]  # genres prefetched
    for genre in _leaning_genres(leaning, rows):
        row = recommend_for_user(user=user, k=row_k + len(shown), genre=genre)
        row.items = [item for item in row.items if item.movie.pk not in shown][:row_k]
        shown.update(item.movie.pk for item in row.items)
        if row.items:
            result.genre_rows.append((genre, row))
    return result


def recommend_home(*, user, k: int, rows: int, row_k: int) -> HomeRows:
    """The logged-in home page: "for you" plus a few "<genre> for you" rows, no movie twice.

    Every row is cut from the user's candidate pool (user_state: one user vector, one Milvus search, cached
    until the user's next rating); a genre row that the pool cannot fill gets its own genre-filtered search.
    Without a model every row is the popularity fallback.
    """
    if not getattr(user, "is_authenticated", False):
        return _home_fallback(user, k, rows, row_k)
    try:
        live, state = user_state(user)
    except NoSignal:
        return _home_fallback(user, k, rows, row_k)
    except (NoLiveModel, VectorStoreError) as exc:
        fallback_enter(exc)
        return _home_fallback(user, k, rows, row_k)
    pool, cut_short = state.pool, False
    picks = {"": pool[:k]}
    shown = {m for m, _ in pool[:k]}
    for genre in _leaning_genres([live.genres.get(m, frozenset()) for m, _ in pool[:k]], rows):
        hits = [h for h in pool if h[0] not in shown and genre in live.genres.get(h[0], ())]
        if len(hits) < row_k:  # the pool is thin in this genre: ask Milvus for this genre alone
            try:
                more = state.search_ranked(live, k=row_k, also_excluded=shown, genre=genre)
            except VectorStoreError as exc:  # the row is cut short
                fallback_enter(exc)
                cut_short = True
                more = []
            hits += [h for h in more if h not in hits]
        picks[genre] = hits[:row_k]
        shown.update(m for m, _ in picks[genre])
    because = state.reasons(live, list(shown))
    movies = movie_details(list(shown) + list(because.values()))  # one cache read for every row (not the pool)
    version = live.version.number
    if not cut_short:
        fallback_leave(version)
    made = {
        g: Recommendations(items=_hydrate(h, because, movies, source=Source.TWO_TOWER), model_version=version)
        for g, h in picks.items()
    }
    return HomeRows(made.pop(""), [(g, r) for g, r in made.items() if r.items])


SIMILAR_POOL = 50  # candidates taken from each source before the blend


def similar_movies(*, movie_id: int, k: int = 10, user=None) -> Recommendations:
    """Movies like this one: its co-rating neighbours blended with its nearest movie vectors (a Milvus search).

    For a logged-in ``user``, never a movie they are not interested in (one indexed query; none for the fallback).
    """
    signed_in, live = getattr(user, "is_authenticated", False), None
    try:
        live = live_model(user_id=user.pk if signed_in else None)  # an experiment's arm (issue #25)
        if movie_id not in live.row_of:
            raise NoLiveModel(f"movie {movie_id} has no vector in model v{live.version.number}")
        hidden = hidden_movie_ids(user_id=user.pk) if signed_in else set()
        vector = live.vectors_for([movie_id])[0]
        by_vector = get_vector_store().search(
            vector, k=max(k, SIMILAR_POOL), exclude_ids=[movie_id, *hidden], collection=live.collection
        )
    except (NoLiveModel, VectorStoreError) as exc:
        if live is None or isinstance(exc, VectorStoreError):  # not this movie's own lack of a vector
            fallback_enter(exc)
        result = popular_movies(k=k + 1, user=user if signed_in else None, exclude_rated=False)
        result.items = [i for i in result.items if i.movie.pk != movie_id][:k]
        result.fallback, result.fallback_reason = True, str(exc)
        return result
    co_rated = live.neighbours.of(movie_id)[: max(k, SIMILAR_POOL)] if live.neighbours else []
    co_rated = [hit for hit in co_rated if hit[0] not in hidden]
    both, ids_co = {m for m, _ in co_rated} & {m for m, _ in by_vector}, {m for m, _ in co_rated}
    sources = {m: Source.BOTH if m in both else Source.CO_RATINGS if m in ids_co else Source.VECTORS
               for m, _ in co_rated + by_vector}  # fmt: skip
    items = _hydrate(blend(co_rated, by_vector, k), source=sources)
    fallback_leave(live.version.number)
    return Recommendations(items=items, model_version=live.version.number)


def _rank_vector(user):
    """(live model, the user's vector, the ranking of scored hits): the cached state's, or a blank user's when the
    tower has nothing to read (whose order is the tower's)."""
    try:
        live, state = user_state(user)
        return live, state.vector, lambda hits: state.ranked(live, hits)
    except NoSignal:
        live = live_model()
        vector = live.user_vector(user_id=user.pk, gender="", age=0, occupation=None, history=([], []))
        return live, vector, lambda hits: hits


def rank_for_user(*, user, movie_ids: list[int]) -> Recommendations:
    """Order the given movies for the user: the tower's scores, then the version's ranker when it has one
    (personalised ranking; a user with nothing for the tower to read is ranked by the vector of a blank user)."""
    ids = list(dict.fromkeys(int(m) for m in movie_ids))
    try:
        live, vector, ranked = _rank_vector(user)
    except (NoLiveModel, VectorStoreError) as exc:
        fallback_enter(exc)
        counts = dict(Movie.objects.filter(pk__in=ids).values_list("id", "rating_count"))
        top = max(counts.values(), default=1) or 1
        scored = sorted(((m, counts[m] / top) for m in ids if m in counts), key=lambda h: -h[1])
        return Recommendations(
            items=_hydrate(scored, source=Source.POPULARITY), fallback=True, fallback_reason=str(exc)
        )
    known = [m for m in ids if m in live.row_of]
    scores = live.vectors_for(known) @ vector if known else np.zeros(0)
    scored = ranked(sorted(zip(known, scores.tolist(), strict=True), key=lambda h: -h[1]))
    fallback_leave(live.version.number)
    return Recommendations(items=_hydrate(scored, source=Source.TWO_TOWER), model_version=live.version.number)

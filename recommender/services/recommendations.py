"""Recommendations for the site, the API and batch jobs: the serving pipeline, each step once and in order.

    1. user state   services/user_state.py   the live model (an experiment's arm), what the user tower reads, the
                                             user vector, the movies left out (rated, "not interested")
    2. candidates   services/candidates.py   a Milvus search with the user's vector (exclusions and filters inside)
    3. rank         services/ranking.py      the version's ranker re-orders them (when it has one)
    4. rules        services/rules.py        exploration, diversity (home rows: a genre each, no movie twice)
    5. explain      services/explain.py      "Because you rated X": the rated movie each pick is most like
    6. hydrate      services/movie_rows.py   the rows of the picks and of their reasons, one read (two caches)

then the answer (Recommendations, RecommendedItem: below). Explain comes before hydrate so that the picks and the
movies explaining them are read together.

The cache short-cuts steps 2-3 (and step 5 for the pool): the user's state carries the best POOL hits of one
unfiltered search, already ranked, and their reasons, cached under a stamp that every rating and "not interested"
write bumps in its own transaction (so a write shapes the very next answer, in any process). An unfiltered
request for at most POOL hits, and every home row the pool can fill, is cut from that pool: no Milvus search.
A genre or year filter, more hits than POOL, or a home row the pool cannot fill runs steps 2-3 again with the
cached vector. A cache miss runs them inside step 1, with the same functions, for the pool.

recommend_for_user follows the six steps; recommend_home (several rows from one state), rank_for_user (the given
movies as candidates) and similar_movies (a movie's neighbours as candidates) use the same step functions where
they share a step. Any failure of the vector store or a missing model degrades to popularity, flagged, and logged
when it begins and ends (serving.fallback), not on each request.
"""

import uuid
from dataclasses import dataclass, field
from enum import StrEnum

from movies.models import Movie
from movies.selectors import hidden_movie_ids, movie_list
from recommender.ml.neighbours import blend
from recommender.serving import NoLiveModel, fallback_enter, fallback_leave, live_model
from recommender.vectorstore import VectorStoreError

from . import rules
from .candidates import candidates, co_rated, nearest, scored
from .explain import explain
from .movie_rows import hydrate
from .ranking import rank
from .user_state import POOL, NoSignal, user_state


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


def _items(
    hits: list[tuple[int, float]],
    movies: dict[int, Movie],
    because: dict[int, int] | None = None,
    *,
    source: Source | dict[int, Source],
) -> list[RecommendedItem]:
    """The answer's items for (movie id, score) pairs, from their rows (step 6), with the reason movie (step 5) and
    the source (one for all, or per movie)."""
    items = []
    for movie_id, score in hits:
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
    hits = [(m, c / top) for m, c in rows]
    return Recommendations(items=_items(hits, hydrate([m for m, _ in hits]), source=Source.POPULARITY))


def _fallback(reason: str, **kwargs) -> Recommendations:
    result = popular_movies(**kwargs)
    result.fallback, result.fallback_reason = True, reason
    return result


# --- personalised -----------------------------------------------------------------------------------------


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
        live, state = user_state(user)  # 1. user state
        if genre or year_min is not None or year_max is not None or wanted > POOL:
            hits = candidates(live, state, k=wanted, genre=genre, year_min=year_min, year_max=year_max)  # 2.
            hits = rank(live, state, hits)[:wanted]  # 3.
        else:
            hits = state.pool[:wanted]  # 2-3. from the cached pool
    except NoSignal as exc:
        return _fallback(str(exc), **kwargs)
    except (NoLiveModel, VectorStoreError) as exc:
        fallback_enter(exc)
        return _fallback(str(exc), **kwargs)
    fallback_leave(live.version.number)
    hits = rules.apply(hits, k=k, explore=explore, max_per_genre=max_per_genre)  # 4. rules
    picks = [m for m, _ in hits]
    because = explain(live, state, picks)  # 5. explain
    movies = hydrate(picks, because)  # 6. hydrate
    return Recommendations(
        items=_items(hits, movies, because, source=Source.TWO_TOWER), model_version=live.version.number
    )


@dataclass
class HomeRows:
    for_you: Recommendations
    genre_rows: list[tuple[str, Recommendations]] = field(default_factory=list)


def _home_fallback(user, k: int, rows: int, row_k: int) -> HomeRows:
    """No model for this user (anonymous, blank profile, no live model): each row from recommend_for_user."""
    result = HomeRows(recommend_for_user(user=user, k=k))
    shown = {item.movie.pk for item in result.for_you.items}
    leaning = [[g.name for g in item.movie.genres.all()] for item in result.for_you.items]  # genres prefetched
    for genre in rules.leaning_genres(leaning, rows):
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
        live, state = user_state(user)  # 1. user state
    except NoSignal:
        return _home_fallback(user, k, rows, row_k)
    except (NoLiveModel, VectorStoreError) as exc:
        fallback_enter(exc)
        return _home_fallback(user, k, rows, row_k)
    pool, cut_short = state.pool, False  # 2-3. from the cached pool
    picks = {"": pool[:k]}
    shown = {m for m, _ in pool[:k]}
    for genre in rules.leaning_genres([live.genres.get(m, frozenset()) for m, _ in pool[:k]], rows):  # 4. rules
        hits = rules.in_genre(pool, genre, live.genres, shown)
        if len(hits) < row_k:  # the pool is thin in this genre: steps 2-3 for this genre alone
            try:
                more = rank(live, state, candidates(live, state, k=row_k, also_excluded=shown, genre=genre))
            except VectorStoreError as exc:  # the row is cut short
                fallback_enter(exc)
                cut_short = True
                more = []
            hits += [h for h in more if h not in hits]
        picks[genre] = hits[:row_k]
        shown.update(m for m, _ in picks[genre])
    because = explain(live, state, list(shown))  # 5. explain
    movies = hydrate(list(shown), because)  # 6. hydrate: one cache read for every row (not the pool)
    version = live.version.number
    if not cut_short:
        fallback_leave(version)
    made = {
        g: Recommendations(items=_items(h, movies, because, source=Source.TWO_TOWER), model_version=version)
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
        live = live_model(user_id=user.pk if signed_in else None)  # 1. an experiment's arm (issue #25)
        if movie_id not in live.row_of:
            raise NoLiveModel(f"movie {movie_id} has no vector in model v{live.version.number}")
        hidden = hidden_movie_ids(user_id=user.pk) if signed_in else set()
        by_vector = nearest(live, movie_id, k=max(k, SIMILAR_POOL), excluded=[movie_id, *hidden])  # 2. candidates
    except (NoLiveModel, VectorStoreError) as exc:
        if live is None or isinstance(exc, VectorStoreError):  # not this movie's own lack of a vector
            fallback_enter(exc)
        result = popular_movies(k=k + 1, user=user if signed_in else None, exclude_rated=False)
        result.items = [i for i in result.items if i.movie.pk != movie_id][:k]
        result.fallback, result.fallback_reason = True, str(exc)
        return result
    co = rules.exclude(co_rated(live, movie_id, k=max(k, SIMILAR_POOL)), hidden)  # 2. candidates, 4. rules
    both, ids_co = {m for m, _ in co} & {m for m, _ in by_vector}, {m for m, _ in co}
    sources = {m: Source.BOTH if m in both else Source.CO_RATINGS if m in ids_co else Source.VECTORS
               for m, _ in co + by_vector}  # fmt: skip
    hits = blend(co, by_vector, k)  # 3. rank
    items = _items(hits, hydrate([m for m, _ in hits]), source=sources)  # 6. hydrate
    fallback_leave(live.version.number)
    return Recommendations(items=items, model_version=live.version.number)


def _state_or_blank(user):
    """(live model, the user's state or None, the user's vector): the cached state's, or a blank user's when the
    tower has nothing to read (whose order is the tower's: no ranker)."""
    try:
        live, state = user_state(user)
        return live, state, state.vector
    except NoSignal:
        live = live_model()
        return live, None, live.user_vector(user_id=user.pk, gender="", age=0, occupation=None, history=([], []))


def rank_for_user(*, user, movie_ids: list[int]) -> Recommendations:
    """Order the given movies for the user: the tower's scores, then the version's ranker when it has one
    (personalised ranking; a user with nothing for the tower to read is ranked by the vector of a blank user)."""
    ids = list(dict.fromkeys(int(m) for m in movie_ids))
    try:
        live, state, vector = _state_or_blank(user)  # 1. user state
    except (NoLiveModel, VectorStoreError) as exc:
        fallback_enter(exc)
        counts = dict(Movie.objects.filter(pk__in=ids).values_list("id", "rating_count"))
        top = max(counts.values(), default=1) or 1
        hits = sorted(((m, counts[m] / top) for m in ids if m in counts), key=lambda h: -h[1])
        items = _items(hits, hydrate([m for m, _ in hits]), source=Source.POPULARITY)
        return Recommendations(items=items, fallback=True, fallback_reason=str(exc))
    hits = scored(live, vector, ids)  # 2. candidates: the given movies, by the tower's score
    if state is not None:
        hits = rank(live, state, hits)  # 3. rank
    fallback_leave(live.version.number)
    items = _items(hits, hydrate([m for m, _ in hits]), source=Source.TWO_TOWER)  # 6. hydrate
    return Recommendations(items=items, model_version=live.version.number)

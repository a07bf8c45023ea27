"""Reads on the catalogue: movie lists and details, a user's ratings and hidden movies, genre names."""

from django.core.cache import cache
from django.db.models import Case, Exists, IntegerField, OuterRef, Prefetch, Q, QuerySet, Value, When

from .models import Genre, HiddenMovie, Movie, Rating
from .movielens import SCORES
from .titles import search_key

SORTS = {
    "popularity": ("-rating_count", "id"),
    "rating": ("-rating_mean", "-rating_count", "id"),
    "year": ("-year", "id"),
    "-year": ("year", "id"),
    "title": ("title", "id"),
}
# How well a title matches a search, best first: the whole title as typed, titles starting with it, titles
# containing it, titles with a word starting with each of its words, in any order ("lost children city").
EXACT, PREFIX, CONTAINS, ALL_WORDS = range(4)
GENRE_NAMES_CACHE_KEY = "movies:genre_names"
GENRE_NAMES_CACHE_SECONDS = 300  # how long an edit outside the importer (the admin) may take to show
WHOLE_STARS = tuple(score for score in SCORES if score.is_integer())
HALF_STARS_CACHE_KEY = "movies:half_stars"
HALF_STARS_CACHE_SECONDS = 300  # the importer and a half-star rating forget it at once where the cache is shared


def genre_names() -> list[str]:
    """Every genre name, sorted: the catalogue's one list of known genres (API and form fields, Milvus filters).

    Read from the cache, so a request does not query the database for it; the importer calls genre_names_forget().
    """
    return cache.get_or_set(
        GENRE_NAMES_CACHE_KEY, lambda: list(Genre.objects.values_list("name", flat=True)), GENRE_NAMES_CACHE_SECONDS
    )


def genre_names_forget() -> None:
    """Drop the cached catalogue facts (after an import): the next genre_names() and half_stars_in_use() read the
    database."""
    cache.delete_many([GENRE_NAMES_CACHE_KEY, HALF_STARS_CACHE_KEY])


def half_stars_in_use() -> bool:
    """Whether any rating is a half star (the CSV MovieLens releases): the site's star widget then offers halves.

    One scan that stops at the first half star, cached: a whole-star catalogue (ML-1M) keeps whole-star widgets."""
    return cache.get_or_set(
        HALF_STARS_CACHE_KEY,
        lambda: Rating.objects.exclude(score__in=WHOLE_STARS).exists(),
        HALF_STARS_CACHE_SECONDS,
    )


def half_stars_forget() -> None:
    cache.delete(HALF_STARS_CACHE_KEY)


def movie_list(
    *,
    search: str = "",
    genre: str = "",
    year_min: int | None = None,
    year_max: int | None = None,
    sort: str = "popularity",
    exclude_rated_by=None,
    hidden_by=None,
) -> QuerySet[Movie]:
    """Movies filtered and sorted for browsing; genres prefetched so a page costs a fixed number of queries.

    A search matches titles as people write them ("the godfather", "amelie" find "Godfather, The (1972)" and
    "Amélie (2001)"): best matches first, then ``sort``. ``exclude_rated_by`` (a logged-in user) leaves out the
    movies that user has rated. ``hidden_by`` (a logged-in user) leaves out the movies that user is not interested
    in, except from a search, which finds them flagged ``is_hidden`` (a title asked for by name is never lost).
    """
    qs = Movie.objects.with_mean().prefetch_related(Prefetch("genres", queryset=Genre.objects.order_by("name")))
    order = SORTS.get(sort, SORTS["popularity"])
    if search:
        qs = _search(qs, search)
        order = ("search_rank", *order)
    if genre:
        qs = qs.filter(genres__name=genre)
    if year_min is not None:
        qs = qs.filter(year__gte=year_min)
    if year_max is not None:
        qs = qs.filter(year__lte=year_max)
    if exclude_rated_by is not None and exclude_rated_by.is_authenticated:
        qs = qs.filter(~Exists(Rating.objects.filter(user=exclude_rated_by, movie=OuterRef("pk"))))
    if hidden_by is not None and hidden_by.is_authenticated:
        qs = qs.annotate(is_hidden=_hidden_by(hidden_by))
        if not search:
            qs = qs.filter(is_hidden=False)
    return qs.order_by(*order)


def _hidden_by(user) -> Exists:
    return Exists(HiddenMovie.objects.filter(user=user, movie=OuterRef("pk")))


def _search(qs: QuerySet[Movie], search: str) -> QuerySet[Movie]:
    """Movies whose search_key contains the query's, or has words starting with each of its words; annotated with
    ``search_rank`` (EXACT first).

    Plain equality and LIKE on the indexed, already folded column: the same SQL on SQLite and PostgreSQL.
    """
    key = search_key(search)
    if not key:  # nothing but punctuation or a lone symbol: compare the text with the stored title
        return qs.filter(title__icontains=search.strip()).annotate(search_rank=Value(CONTAINS))
    every_word = Q()
    for word in key.split():
        every_word &= Q(search_key__startswith=word) | Q(search_key__contains=f" {word}")
    rank = Case(
        When(search_key=key, then=Value(EXACT)),
        When(search_key__startswith=key, then=Value(PREFIX)),
        When(search_key__contains=key, then=Value(CONTAINS)),
        default=Value(ALL_WORDS),
        output_field=IntegerField(),
    )
    return qs.filter(Q(search_key__contains=key) | every_word).annotate(search_rank=rank)


def movies_by_ids(ids, *, hidden_for=None) -> dict[int, Movie]:
    """Movies keyed by id, genres prefetched (hydrating recommendation results); with ``hidden_for`` (a logged-in
    user) each flagged ``is_hidden`` in the same query."""
    qs = Movie.objects.filter(pk__in=list(ids)).prefetch_related(
        Prefetch("genres", queryset=Genre.objects.order_by("name"))
    )
    if hidden_for is not None and hidden_for.is_authenticated:
        qs = qs.annotate(is_hidden=_hidden_by(hidden_for))
    return {m.pk: m for m in qs}


def user_ratings(*, user) -> QuerySet[Rating]:
    """The user's ratings, newest first, with the movie."""
    return Rating.objects.filter(user=user).select_related("movie").order_by("-rated_at", "-id")


def user_rating_map(*, user, movie_ids=None) -> dict[int, int]:
    """{movie_id: score} for the user (optionally only for some movies): cards show the user's own rating."""
    if not getattr(user, "is_authenticated", False):
        return {}
    qs = Rating.objects.filter(user=user)
    if movie_ids is not None:
        qs = qs.filter(movie_id__in=list(movie_ids))
    return dict(qs.values_list("movie_id", "score"))


def user_rating(*, user, movie_id: int) -> Rating | None:
    """The user's rating of one movie, or None."""
    return Rating.objects.filter(user=user, movie_id=movie_id).first()


def hidden_movie_ids(*, user_id: int) -> set[int]:
    """Ids of the movies the user is not interested in (one query on the (user, movie) index)."""
    return set(HiddenMovie.objects.filter(user_id=user_id).order_by().values_list("movie_id", flat=True))


def user_hidden_movies(*, user) -> QuerySet[HiddenMovie]:
    """The movies the user is not interested in, most recently hidden first, with the movie."""
    return HiddenMovie.objects.filter(user=user).select_related("movie").order_by("-created_at", "-id")


def user_history(*, user_id: int) -> tuple[list[int], list[int]]:
    """(movie_ids, scores) of every rating the user has now, oldest first: the user tower's history input."""
    rows = list(
        Rating.objects.filter(user_id=user_id).order_by("rated_at", "movie_id").values_list("movie_id", "score")
    )
    return [r[0] for r in rows], [r[1] for r in rows]


def movielens_ids_unknown(ids) -> list[int]:
    """The given MovieLens user ids that no profile has, sorted (validating batch-job user lists)."""
    from .models import Profile

    wanted = set(ids)
    known = set(Profile.objects.filter(movielens_id__in=wanted).values_list("movielens_id", flat=True))
    return sorted(wanted - known)

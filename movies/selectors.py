"""Reads on the catalogue: movie lists and details, a user's ratings, genre names."""

from django.db.models import Prefetch, QuerySet

from .models import Genre, Movie, Rating

SORTS = {
    "popularity": ("-rating_count", "id"),
    "rating": ("-rating_mean", "-rating_count", "id"),
    "year": ("-year", "id"),
    "-year": ("year", "id"),
    "title": ("title", "id"),
}


def genre_names() -> list[str]:
    return list(Genre.objects.values_list("name", flat=True))


def movie_list(
    *,
    search: str = "",
    genre: str = "",
    year_min: int | None = None,
    year_max: int | None = None,
    sort: str = "popularity",
) -> QuerySet[Movie]:
    """Movies filtered and sorted for browsing; genres prefetched so a page costs a fixed number of queries."""
    qs = Movie.objects.with_mean().prefetch_related(Prefetch("genres", queryset=Genre.objects.order_by("name")))
    if search:
        qs = qs.filter(title__icontains=search)
    if genre:
        qs = qs.filter(genres__name=genre)
    if year_min is not None:
        qs = qs.filter(year__gte=year_min)
    if year_max is not None:
        qs = qs.filter(year__lte=year_max)
    return qs.order_by(*SORTS.get(sort, SORTS["popularity"]))


def movies_by_ids(ids) -> dict[int, Movie]:
    """Movies keyed by id, genres prefetched (hydrating recommendation results)."""
    qs = Movie.objects.filter(pk__in=list(ids)).prefetch_related(
        Prefetch("genres", queryset=Genre.objects.order_by("name"))
    )
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

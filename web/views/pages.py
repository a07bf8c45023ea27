"""Catalogue pages: home, browse, movie detail and onboarding."""

from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache

from movies.selectors import genre_names, movie_list, movies_by_ids, user_rating_map, user_ratings
from recommender.impressions.models import Surface
from recommender.impressions.services import impression_record, site_click_record
from recommender.selectors import training_notice
from recommender.services.recommendations import popular_movies, similar_movies
from web.forms import MovieFilterForm, MovieSearchForm
from web.training_notice import training_detail

from . import suggestions
from .common import paginate

BROWSE_PER_PAGE = 24
HOME_POPULAR_K = 12
SIMILAR_K = 8
ONBOARDING_GOAL = 5
ONBOARDING_PER_GENRE = 4
ONBOARDING_SEARCH_K = 12
# Broad, familiar genres first: a newcomer recognises something in each row.
ONBOARDING_GENRES = ["Comedy", "Drama", "Action", "Romance", "Sci-Fi", "Thriller", "Animation", "Horror", "Crime"]


def home(request):
    """Anonymous: popular movies and an invitation; logged in: suggestions (newcomers go to onboarding first)."""
    if not request.user.is_authenticated:
        return render(request, "movies/home.html", {"popular": popular_movies(k=HOME_POPULAR_K)})
    if not user_ratings(user=request.user).exists():
        return redirect("onboarding")
    rows = suggestions.home_rows(request.user)
    # while the first model trains, the training notice says "popular movies until then": no second notice
    context = {"for_you": rows.for_you, "genre_rows": rows.genre_rows, "training": training_notice() is not None}
    return render(request, "movies/home.html", context)


def movie_browse(request):
    """Search, filter, sort and paginate the catalogue; each card shows (and sets) the user's own rating.

    Movies the user is not interested in are left out, except from a search (found, marked hidden)."""
    form = MovieFilterForm(request.GET, genres=genre_names(), user=request.user)
    filters = form.filters()
    page = paginate(request, movie_list(**filters, hidden_by=request.user), BROWSE_PER_PAGE)
    own = user_rating_map(user=request.user, movie_ids=[m.pk for m in page.object_list])
    context = {"form": form, "page": page, "own": own, "keep_hidden": bool(filters["search"])}
    return render(request, "movies/movie_list.html", context)


def movie_detail(request, movie_id: int):
    """A movie, its average rating, the user's stars, "Not interested" and similar movies (never a hidden one)."""
    movie = movies_by_ids([movie_id], hidden_for=request.user).get(movie_id)
    if movie is None:
        raise Http404("No such movie.")
    if "imp" in request.GET:  # opened from a recommendation list: a click-through (never fails the page)
        site_click_record(user=request.user, impression_id=request.GET["imp"], movie_id=movie_id)
    similar = similar_movies(movie_id=movie_id, k=SIMILAR_K, user=request.user)
    impression_record(user=request.user, surface=Surface.SITE_SIMILAR, recs=similar)
    own = user_rating_map(user=request.user, movie_ids=[movie_id] + [i.movie.pk for i in similar.items])
    context = {"movie": movie, "own_score": own.get(movie_id), "similar": similar, "own": own}
    return render(request, "movies/movie_detail.html", context)


def _onboarding_sections(genres: list[str], user) -> list[tuple[str, list]]:
    """The most-rated movies of several genres, each movie shown once: popular yet diverse; none the user hid."""
    wanted = [g for g in ONBOARDING_GENRES if g in genres] or genres[: len(ONBOARDING_GENRES)]
    seen: set[int] = set()
    sections = []
    for genre in wanted:
        popular = movie_list(genre=genre, sort="popularity", hidden_by=user)[: ONBOARDING_PER_GENRE * 2]
        movies = [m for m in popular if m.pk not in seen]
        movies = movies[:ONBOARDING_PER_GENRE]
        seen.update(m.pk for m in movies)
        if movies:
            sections.append((genre, movies))
    return sections


def onboarding(request):
    """Welcome page: rate a few well-known movies (or search for ones the user knows); personal suggestions appear
    after ONBOARDING_GOAL ratings."""
    if not request.user.is_authenticated:
        return redirect("signup")
    search_form = MovieSearchForm(request.GET)
    query = search_form.query()
    results = list(movie_list(search=query, hidden_by=request.user)[:ONBOARDING_SEARCH_K]) if query else None
    sections = _onboarding_sections(genre_names(), request.user)
    shown = [m.pk for _, movies in sections for m in movies] + [m.pk for m in results or []]
    count = user_ratings(user=request.user).count()
    context = {
        "search_form": search_form,
        "query": query,
        "results": results,
        "sections": sections,
        "own": user_rating_map(user=request.user, movie_ids=shown),
        "rated_count": count,
        "goal": ONBOARDING_GOAL,
        "for_you": suggestions.for_you(request.user) if count >= ONBOARDING_GOAL else None,
        "training": training_notice() is not None,  # its notice replaces the "popular picks" one
    }
    return render(request, "movies/onboarding.html", context)


@never_cache
def training_status(request):
    """JSON for the training notice's poll: {"training": bool, ...the notice's fields, "detail": its sentence};
    public and cheap."""
    notice = training_notice()
    if notice is None:
        return JsonResponse({"training": False})
    return JsonResponse({"training": True, **notice, "detail": training_detail(notice)})

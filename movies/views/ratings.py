"""Rating interfaces: the rate endpoint (form post or fetch/JSON) and the "My ratings" page."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from movies.forms import RatingForm
from movies.selectors import movies_by_ids, user_ratings
from movies.services import rating_delete, rating_upsert
from recsite.exceptions import ApplicationError

from . import suggestions
from .common import paginate, safe_next, wants_json

MY_RATINGS_PER_PAGE = 25


def _rating_apply(*, user, movie_id: int, form: RatingForm) -> tuple[int | None, str]:
    """Validate, then set or remove the rating through the services; returns (new score, message)."""
    if not form.is_valid():
        raise ApplicationError(form.first_error(), {"field": "score"})
    movie = movies_by_ids([movie_id]).get(movie_id)
    if movie is None:
        raise ApplicationError(f"Movie {movie_id} does not exist.", {"field": "movie_id"})
    title = movie.display_title
    if form.cleaned_data["remove"]:
        removed = rating_delete(user=user, movie_id=movie_id)
        return None, f"Removed your rating of {title}." if removed else f"You had not rated {title}."
    rating, _ = rating_upsert(user=user, movie_id=movie_id, score=form.cleaned_data["score"])
    return rating.score, f"You rated {title} {rating.score} out of 5."


def _json_payload(request, movie_id: int, score: int | None, message: str) -> dict:
    movie = movies_by_ids([movie_id])[movie_id]  # fresh counters after the write
    recs = suggestions.for_you(request.user)
    return {
        "movie_id": movie_id,
        "score": score,
        "message": message,
        "user_rating_count": user_ratings(user=request.user).count(),
        "movie": {"rating_count": movie.rating_count, "average_rating": movie.average_rating},
        "recommendations": suggestions.for_you_data(recs, request.user),
        "recommendations_html": suggestions.for_you_html(request, recs),
    }


@require_POST
def movie_rate(request, movie_id: int):
    """POST score=1..5 (or remove=1): redirect back for a form post, JSON for fetch(); bad input -> message/400."""
    detail_url = reverse("movie_detail", args=[movie_id])
    if not request.user.is_authenticated:
        if wants_json(request):
            return JsonResponse({"message": "Log in to rate movies.", "login_url": reverse("login")}, status=401)
        return redirect_to_login(safe_next(request, detail_url))
    try:
        score, message = _rating_apply(user=request.user, movie_id=movie_id, form=RatingForm(request.POST))
    except ApplicationError as exc:
        if wants_json(request):
            return JsonResponse({"message": exc.message, "extra": exc.extra}, status=400)
        messages.error(request, exc.message)
        return redirect(safe_next(request, reverse("movie_browse")))
    if wants_json(request):
        return JsonResponse(_json_payload(request, movie_id, score, message))
    messages.success(request, message)
    return redirect(safe_next(request, detail_url))


@login_required
def my_ratings(request):
    """The user's ratings, newest first, paginated, each with change/remove controls."""
    page = paginate(request, user_ratings(user=request.user), MY_RATINGS_PER_PAGE)
    return render(request, "movies/my_ratings.html", {"page": page})

"""Rating interfaces: the rate endpoint (form post or fetch/JSON), its undo, and the "My ratings" page.

A rating saved through fetch() answers with an undo token: the state before the change, signed (so the browser
cannot forge another user's or another movie's rating) and short-lived. Posting it back restores that state.
"""

from datetime import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.exceptions import ApplicationError
from movies.models import Rating, score_text
from movies.movielens import SCORE_MAX
from movies.selectors import movies_by_ids, user_rating, user_rating_map, user_ratings
from movies.services import rating_delete, rating_restore, rating_upsert
from web.forms import RatingForm

from . import suggestions
from .common import login_needed, movie_title, paginate, refused, safe_next, wants_json

MY_RATINGS_PER_PAGE = 25
UNDO_SALT = "movies.rating-undo"
UNDO_MAX_AGE = 30 * 60  # seconds: an undo is for the change just made, not for last week's
OUT_OF = f"out of {score_text(SCORE_MAX)}"  # "You rated Heat 4 out of 5."


def _undo_token(*, user, movie_id: int, before: Rating | None, after: Rating | None) -> str:
    """What undoing this change restores (``before``), and what it replaces (``after``, to spot a later change)."""
    return signing.dumps(
        {
            "user": user.pk,
            "movie": movie_id,
            "score": before.score if before else None,
            "rated_at": before.rated_at.isoformat() if before else None,
            "replacing": after.rated_at.isoformat() if after else None,
        },
        salt=UNDO_SALT,
    )


def _undo_read(token: str, *, user, movie_id: int) -> dict:
    """rating_restore's keyword arguments from a token this user got for this movie; ApplicationError otherwise."""
    expired = ApplicationError("This undo is no longer available.", {"field": "token"})
    try:
        data = signing.loads(token, salt=UNDO_SALT, max_age=UNDO_MAX_AGE)
    except signing.BadSignature:  # also SignatureExpired
        raise expired from None
    if data.get("user") != user.pk or data.get("movie") != movie_id:
        raise expired

    def when(text):
        return datetime.fromisoformat(text) if text else None

    return {"score": data["score"], "rated_at": when(data["rated_at"]), "replacing": when(data["replacing"])}


def _rating_apply(*, user, movie_id: int, form: RatingForm) -> tuple[float | None, str, str | None]:
    """Validate, then set or remove the rating through the services; returns (new score, message, undo token)."""
    if not form.is_valid():
        raise ApplicationError(form.first_error(), {"field": "score"})
    title = movie_title(movie_id)
    before = user_rating(user=user, movie_id=movie_id)
    if form.cleaned_data["remove"]:
        if not rating_delete(user=user, movie_id=movie_id):
            return None, f"You had not rated {title}.", None
        return (
            None,
            f"Removed your rating of {title}.",
            _undo_token(user=user, movie_id=movie_id, before=before, after=None),
        )
    rating, _ = rating_upsert(user=user, movie_id=movie_id, score=form.cleaned_data["score"])
    token = _undo_token(user=user, movie_id=movie_id, before=before, after=rating)
    return rating.score, f"You rated {title} {score_text(rating.score)} {OUT_OF}.", token


def _json_payload(request, movie_id: int, score: float | None, message: str, undo_token: str | None = None) -> dict:
    movie = movies_by_ids([movie_id])[movie_id]  # fresh counters after the write
    undo = {"url": reverse("movie_rate_undo", args=[movie_id]), "token": undo_token} if undo_token else None
    return {
        "movie_id": movie_id,
        "score": score,
        "message": message,
        "undo": undo,
        "movie": {"rating_count": movie.rating_count, "average_rating": movie.average_rating},
        **suggestions.suggestions_payload(request),
    }


@require_POST
def movie_rate(request, movie_id: int):
    """POST score=0.5..5 (half stars) or remove=1: redirect back for a form post, JSON for fetch(); bad input: 400."""
    detail_url = reverse("movie_detail", args=[movie_id])
    if anonymous := login_needed(request, action="rate movies", default_next=detail_url):
        return anonymous
    try:
        score, message, token = _rating_apply(user=request.user, movie_id=movie_id, form=RatingForm(request.POST))
    except ApplicationError as exc:
        return refused(request, exc, default_next=reverse("movie_browse"))
    if wants_json(request):
        return JsonResponse(_json_payload(request, movie_id, score, message, token))
    messages.success(request, message)
    return redirect(safe_next(request, detail_url))


@require_POST
def movie_rate_undo(request, movie_id: int):
    """POST token=<the undo token of a rating change>: put back the rating as it was before that change."""
    detail_url = reverse("movie_detail", args=[movie_id])
    if anonymous := login_needed(request, action="rate movies", default_next=detail_url):
        return anonymous
    try:
        state = _undo_read(request.POST.get("token", ""), user=request.user, movie_id=movie_id)
        title = movie_title(movie_id)
        restored = rating_restore(user=request.user, movie_id=movie_id, **state)
    except ApplicationError as exc:
        return refused(request, exc, default_next=detail_url)
    score = user_rating_map(user=request.user, movie_ids=[movie_id]).get(movie_id)
    if not restored:
        message = f"Your rating of {title} has changed since: nothing to undo."
    elif score is None:
        message = f"Undone: {title} is not rated any more."
    else:
        message = f"Undone: your rating of {title} is back to {score_text(score)} {OUT_OF}."
    if wants_json(request):
        return JsonResponse(_json_payload(request, movie_id, score, message))
    messages.success(request, message)
    return redirect(safe_next(request, detail_url))


@login_required
def my_ratings(request):
    """The user's ratings, newest first, paginated, each with change/remove controls."""
    page = paginate(request, user_ratings(user=request.user), MY_RATINGS_PER_PAGE)
    return render(request, "movies/my_ratings.html", {"page": page})

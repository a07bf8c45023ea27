"""The "Not interested" button: hide a movie from the user's suggestions, show it again, list hidden movies.

Both endpoints take a form post (redirect back with a message) or fetch() (JSON with the opposite endpoint as the
undo, and the refreshed "Recommended for you" list).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.exceptions import ApplicationError
from movies.selectors import user_hidden_movies
from movies.services import movie_hide, movie_unhide

from .common import login_needed, movie_title, paginate, refused, safe_next, wants_json
from .suggestions import suggestions_payload

HIDDEN_PER_PAGE = 25


def _hidden_set(request, movie_id: int, *, hide: bool):
    detail_url = reverse("movie_detail", args=[movie_id])
    if anonymous := login_needed(request, action="hide movies", default_next=detail_url):
        return anonymous
    try:
        title = movie_title(movie_id)
        if hide:
            movie_hide(user=request.user, movie_id=movie_id)
        else:
            movie_unhide(user=request.user, movie_id=movie_id)
    except ApplicationError as exc:
        return refused(request, exc, default_next=reverse("movie_browse"))
    if hide:
        message = f"{title} won't be suggested to you again."
        later = " Changed your mind? It is listed under My ratings → Hidden movies."
    else:
        message, later = f"{title} can be suggested to you again.", ""
    if wants_json(request):
        undo_url = reverse("movie_unhide" if hide else "movie_hide", args=[movie_id])
        payload = {"movie_id": movie_id, "hidden": hide, "message": message, "undo_url": undo_url}
        return JsonResponse({**payload, **suggestions_payload(request)})
    messages.success(request, message + later)
    return redirect(safe_next(request, detail_url))


@require_POST
def movie_hide_view(request, movie_id: int):
    """POST "Not interested": never suggest this movie to the user again (until they show it again)."""
    return _hidden_set(request, movie_id, hide=True)


@require_POST
def movie_unhide_view(request, movie_id: int):
    """Show a hidden movie in the user's suggestions again (also the undo of "Not interested")."""
    return _hidden_set(request, movie_id, hide=False)


@login_required
def hidden_movies(request):
    """The movies the user is not interested in, most recently hidden first, each with "Show again"."""
    page = paginate(request, user_hidden_movies(user=request.user), HIDDEN_PER_PAGE)
    return render(request, "movies/hidden_movies.html", {"page": page})

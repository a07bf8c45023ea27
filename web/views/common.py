"""Small helpers shared by the site views: JSON negotiation, safe redirects, pagination, refusals."""

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Page, Paginator
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from core.exceptions import ApplicationError
from movies.selectors import movies_by_ids


def wants_json(request) -> bool:
    """True for fetch() calls from the page script (Accept: application/json or X-Requested-With)."""
    return "application/json" in request.headers.get("Accept", "") or bool(request.headers.get("X-Requested-With"))


def safe_next(request, default: str) -> str:
    """The posted/GET ``next`` URL when it points at this site, else ``default``."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=False):
        return target
    return default


def paginate(request, queryset, per_page: int) -> Page:
    """The requested page (bad or out-of-range numbers give the nearest valid page)."""
    return Paginator(queryset, per_page).get_page(request.GET.get("page"))


def movie_title(movie_id: int) -> str:
    """The movie's display title; an ApplicationError (a message, a 400) for an unknown id."""
    movie = movies_by_ids([movie_id]).get(movie_id)
    if movie is None:
        raise ApplicationError(f"Movie {movie_id} does not exist.", {"field": "movie_id"})
    return movie.display_title


def login_needed(request, *, action: str, default_next: str):
    """For an anonymous POST: a 401 JSON answer for fetch(), else the log-in page; None for a logged-in user."""
    if request.user.is_authenticated:
        return None
    if wants_json(request):
        return JsonResponse({"message": f"Log in to {action}.", "login_url": reverse("login")}, status=401)
    return redirect_to_login(safe_next(request, default_next))


def refused(request, exc: ApplicationError, *, default_next: str):
    """Bad input: a 400 JSON answer for fetch(), else back to the page with the message."""
    if wants_json(request):
        return JsonResponse({"message": exc.message, "extra": exc.extra}, status=400)
    messages.error(request, exc.message)
    return redirect(safe_next(request, default_next))

"""Small helpers shared by the site views: JSON negotiation, safe redirects, pagination."""

from django.core.paginator import Page, Paginator
from django.utils.http import url_has_allowed_host_and_scheme


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

"""Movie cards and their star and "not interested" forms, rendered with Jinja2 (templates/cards/*.jinja).

A page shows up to ~30 cards. As Django templates each cost ~1.3 ms, most of the logged-in home page's time; the
same HTML from Jinja2's compiled templates costs a fraction of that (docs/benchmarks.md, "load"). Pages stay
Django templates and place these through the tags {% movie_card %}, {% rate_form %} and {% hide_form %}
(web/templatetags/site_tags.py), which hand over what the page knows: the user, the CSRF token, where forms return
to (``next``) and the id suffix that keeps star ids unique when a movie is on a page twice.
"""

from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from jinja2 import Environment, FileSystemLoader

from movies.models import score_text
from movies.movielens import SCORE_MAX, SCORES
from movies.selectors import WHOLE_STARS, half_stars_in_use
from movies.titles import search_key


@dataclass(frozen=True)
class Page:
    """What every card on one page shares."""

    user: object
    csrf_token: str
    next_url: str
    id_suffix: str = ""
    half_stars: bool = False  # the star widgets offer half stars (the catalogue has them)
    impression: str = ""  # the recorded list these cards belong to: movie links carry ?imp=<id> (a click-through)


def page_of(context) -> Page:
    """The Page of a Django template context (a RequestContext: request, user and csrf_token are in it)."""
    request = context.get("request")
    token = str(context.get("csrf_token") or "")
    if request is None:
        next_url = ""
    elif request.method == "GET":  # this page
        next_url = request.get_full_path()
    else:  # the answer to a POST (a fetch() fragment): the page that sent it
        next_url = request.META.get("HTTP_REFERER", "")
    return Page(
        user=context.get("user"),
        csrf_token="" if token == "NOTPROVIDED" else token,
        next_url=next_url,
        id_suffix=str(context.get("id_suffix") or ""),
        half_stars=_half_stars(request),
        impression=str(context.get("impression_id") or ""),
    )


def _half_stars(request) -> bool:
    """half_stars_in_use(), read once per request (a page has ~30 star widgets)."""
    if request is None:
        return half_stars_in_use()
    known = getattr(request, "_recsite_half_stars", None)
    if known is None:
        known = request._recsite_half_stars = half_stars_in_use()
    return known


@lru_cache(maxsize=65536)
def _url(name: str, movie_id: int) -> str:
    """reverse() for a movie's pages, remembered: a card needs four and the URLconf does not change at run time."""
    return reverse(name, args=[movie_id])


def poster_letter(movie) -> str:
    """The letter on a movie's placeholder poster: "G" for "The Godfather" (the search key skips the article).

    Computed from the title, not read from the column: cached movie rows may predate it (no query per card).
    """
    return (search_key(movie.title)[:1] or movie.display_title[:1]).upper()


def score_choices(half_stars: bool) -> list[str]:
    """The star widget's values: "1" .. "5", or "0.5" .. "5" in halves (SCORES)."""
    return [score_text(value) for value in (SCORES if half_stars else WHOLE_STARS)]


def stars(value) -> str:
    """4 -> "★★★★☆"; 3.5 -> "★★★½☆"; 3.6 -> "★★★★☆" (whole stars unless the value is a half); empty for none."""
    if value in (None, ""):
        return ""
    value = max(0.0, min(SCORE_MAX, float(value)))
    full, half = (int(value), 1) if value * 2 % 2 == 1 else (round(value), 0)
    return "★" * full + "½" * half + "☆" * (int(SCORE_MAX) - full - half)


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader([str(d) for d in settings.TEMPLATES[0]["DIRS"]]),
        autoescape=True,
        auto_reload=settings.DEBUG,
    )
    env.globals.update(
        movie_url=lambda pk: _url("movie_detail", pk),
        rate_url=lambda pk: _url("movie_rate", pk),
        hide_url=lambda pk: _url("movie_hide", pk),
        unhide_url=lambda pk: _url("movie_unhide", pk),
        score_choices=score_choices,
        score_max=score_text(SCORE_MAX),  # "5": "You: 4/5", "out of 5"
    )
    env.filters.update(poster_letter=poster_letter, stars=stars, score_text=score_text)
    return env


@lru_cache(maxsize=1)
def environment() -> Environment:
    return _environment()


def _render(name: str, page: Page, **context) -> SafeString:
    template = environment().get_template(name)
    values = {"user": page.user, "csrf_token": page.csrf_token, "next_url": page.next_url, "id_suffix": page.id_suffix,
              "half_stars": page.half_stars, "impression": page.impression}  # fmt: skip
    return mark_safe(template.render(values | context))  # autoescaped by Jinja2


def movie_card(page: Page, *, movie, own=None, because=None, rate=False, keep_hidden=False) -> SafeString:
    return _render("cards/movie_card.jinja", page, movie=movie, own=own, because=because, rate=rate,
                   keep_hidden=keep_hidden)  # fmt: skip


def rate_form(page: Page, *, movie, score=None, compact=False) -> SafeString:
    return _render("cards/rate_form.jinja", page, movie=movie, score=score, compact=compact, title=movie.display_title)


def hide_form(page: Page, *, movie, hidden=False, compact=False) -> SafeString:
    title = movie.display_title
    return _render("cards/hide_form.jinja", page, movie=movie, hidden=hidden, compact=compact, title=title)

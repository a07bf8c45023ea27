"""Template helpers: query-string preserving links, movie cards and their forms (rendered by web/cards.py), star
strings, poster letters, the staff model-status badge, the training notice."""

from django import template

from recommender.selectors import model_version_active, training_notice
from web import cards
from web.training_notice import training_detail

register = template.Library()


@register.simple_tag(takes_context=True)
def query_replace(context, **changes) -> str:
    """The current query string with some parameters replaced (pagination keeps the filters)."""
    params = context["request"].GET.copy()
    for key, value in changes.items():
        if value in (None, ""):
            params.pop(key, None)
        else:
            params[key] = value
    return params.urlencode()


register.filter("stars", cards.stars)
register.filter("poster_letter", cards.poster_letter)


@register.simple_tag(takes_context=True)
def movie_card(context, movie, own=None, because=None, rate=False, keep_hidden=False):
    """A movie card (web/cards.py): title, meta, average, the reason, the star form if ``rate``, "not interested"."""
    return cards.movie_card(cards.page_of(context), movie=movie, own=own, because=because, rate=rate,
                            keep_hidden=keep_hidden)  # fmt: skip


@register.simple_tag(takes_context=True)
def rate_form(context, movie, score=None, compact=False):
    """The star rating form of a movie (web/cards.py), the user's ``score`` checked."""
    return cards.rate_form(cards.page_of(context), movie=movie, score=score, compact=compact)


@register.simple_tag(takes_context=True)
def hide_form(context, movie, hidden=False, compact=False):
    """ "Not interested" / "Show again" for a movie (web/cards.py)."""
    return cards.hide_form(cards.page_of(context), movie=movie, hidden=hidden, compact=compact)


@register.filter
def get_item(mapping, key):
    """mapping[key] or None (the user's own rating of a movie in a card)."""
    return mapping.get(key) if mapping else None


@register.inclusion_tag("movies/_model_status.html")
def model_status() -> dict:
    """Active model version and its headline metrics, for staff in the footer."""
    version = model_version_active()
    metrics = (version.metrics or {}).get("model", {}) if version else {}
    return {"version": version, "ndcg": metrics.get("ndcg@10"), "recall": metrics.get("recall@50")}


@register.inclusion_tag("movies/_training_notice.html")
def training_banner() -> dict:
    """'Personal suggestions are being trained' with live progress, while no model serves yet."""
    notice = training_notice()
    return {"notice": notice, "detail": training_detail(notice) if notice else ""}

"""Template helpers: query-string preserving links, star strings, poster letters, the staff model-status badge."""

from django import template

from movies.titles import search_key
from recommender.selectors import model_version_active, training_notice

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


@register.filter
def stars(value) -> str:
    """4 -> "★★★★☆"; 3.6 -> "★★★★☆" (rounded); empty for no value."""
    if value in (None, ""):
        return ""
    full = max(0, min(5, round(float(value))))
    return "★" * full + "☆" * (5 - full)


@register.filter
def poster_letter(movie) -> str:
    """The letter on a movie's placeholder poster: "G" for "The Godfather" (the search key skips the article).

    Computed from the title, not read from the column: cached movie rows may predate it (no query per card).
    """
    return (search_key(movie.title)[:1] or movie.display_title[:1]).upper()


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
    return {"notice": training_notice()}


@register.filter
def minutes(seconds) -> str:
    """90 -> "about 2 min"; under a minute -> "less than a minute"."""
    if seconds in (None, ""):
        return ""
    return "less than a minute" if float(seconds) < 60 else f"about {round(float(seconds) / 60)} min"

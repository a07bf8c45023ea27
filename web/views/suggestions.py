"""What the pages show from the recommendation service: the "for you" list, genre rows, the JSON fragment."""

from django.template.loader import render_to_string

from movies.selectors import user_ratings
from recommender.impressions.models import Surface
from recommender.impressions.services import impression_record, impressions_record
from recommender.presentation import fallback_reason_for
from recommender.services.recommendations import HomeRows, Recommendations, recommend_for_user, recommend_home

FOR_YOU_K = 12
GENRE_ROW_K = 6
GENRE_ROWS = 3


def for_you(user) -> Recommendations:
    """The "Recommended for you" list (onboarding, the fragment refreshed after a rating), recorded as shown."""
    recs = recommend_for_user(user=user, k=FOR_YOU_K)
    impression_record(user=user, surface=Surface.SITE_FOR_YOU, recs=recs)
    return recs


def home_rows(user) -> HomeRows:
    """ "For you" and a few "<genre> for you" rows, computed in one pass (one user vector, one search)."""
    rows = recommend_home(user=user, k=FOR_YOU_K, rows=GENRE_ROWS, row_k=GENRE_ROW_K)
    shown = [(Surface.SITE_HOME, rows.for_you)] + [(Surface.SITE_HOME_GENRE, recs) for _, recs in rows.genre_rows]
    impressions_record(user=user, shown=shown)  # one write for every row of the page
    return rows


def for_you_html(request, recs: Recommendations) -> str:
    """The "Recommended for you" fragment, as the page renders it (the JSON rating response carries it)."""
    return render_to_string("movies/_for_you.html", {"for_you": recs}, request=request)


def for_you_data(recs: Recommendations, user) -> dict:
    """The same suggestions as plain data (ids, titles, reasons) for scripts and tests; the fallback reason as
    this user may see it (its detail can name internal addresses: staff only)."""
    return {
        "fallback": recs.fallback,
        "fallback_reason": fallback_reason_for(user, fallback=recs.fallback, reason=recs.fallback_reason),
        "model_version": recs.model_version,
        "impression_id": str(recs.impression_id) if recs.impression_id else None,
        "items": [
            {
                "movie_id": item.movie.pk,
                "title": item.movie.title,
                "because": item.because.title if item.because else None,
            }
            for item in recs.items
        ],
    }


def suggestions_payload(request) -> dict:
    """What a fetch() answer carries so that the page refreshes its "Recommended for you" list in place."""
    recs = for_you(request.user)
    return {
        "user_rating_count": user_ratings(user=request.user).count(),
        "recommendations": for_you_data(recs, request.user),
        "recommendations_html": for_you_html(request, recs),
    }

"""What the pages show from the recommendation service: the "for you" list, genre rows, the JSON fragment."""

from collections import Counter

from django.template.loader import render_to_string

from recommender.services.recommendations import Recommendations, recommend_for_user

FOR_YOU_K = 12
GENRE_ROW_K = 6
GENRE_ROWS = 3


def for_you(user) -> Recommendations:
    return recommend_for_user(user=user, k=FOR_YOU_K)


def top_genres(recs: Recommendations, n: int = GENRE_ROWS) -> list[str]:
    """The genres most frequent among the user's suggestions (genres are prefetched: no query)."""
    counts = Counter(g.name for item in recs.items for g in item.movie.genres.all())
    return [name for name, _ in counts.most_common(n)]


def genre_rows(user, recs: Recommendations) -> list[tuple[str, Recommendations]]:
    """A few rows "<genre> for you", following the genres the suggestions lean towards; no movie shown twice."""
    shown = {item.movie.pk for item in recs.items}
    rows = []
    for genre in top_genres(recs):
        row = recommend_for_user(user=user, k=GENRE_ROW_K + len(shown), genre=genre)
        row.items = [item for item in row.items if item.movie.pk not in shown][:GENRE_ROW_K]
        shown.update(item.movie.pk for item in row.items)
        if row.items:
            rows.append((genre, row))
    return rows


def for_you_html(request, recs: Recommendations) -> str:
    """The "Recommended for you" fragment, as the page renders it (the JSON rating response carries it)."""
    return render_to_string("movies/_for_you.html", {"for_you": recs}, request=request)


def for_you_data(recs: Recommendations) -> dict:
    """The same suggestions as plain data (ids, titles, reasons) for scripts and tests."""
    return {
        "fallback": recs.fallback,
        "fallback_reason": recs.fallback_reason,
        "model_version": recs.model_version,
        "items": [
            {
                "movie_id": item.movie.pk,
                "title": item.movie.title,
                "because": item.because.title if item.because else None,
                "predicted_rating": item.predicted_rating,
            }
            for item in recs.items
        ],
    }

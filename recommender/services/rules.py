"""Serving, step 4 (the order: services/recommendations.py): the rules over ranked hits.

Exclusions (rated and "not interested" movies) and the genre and year filters are applied inside the Milvus search
(step 2) when the request searches; here they are applied to hits that did not come from that search (the cached
pool cut into home rows, co-rating neighbours). Then exploration (slots for movies with few ratings) and diversity
(at most so many results sharing a first genre), both cut to k.
"""

from movies.models import Movie

from .movie_rows import movie_details

LONG_TAIL_MAX_RATINGS = 50  # "few ratings" for exploration


def apply(
    hits: list[tuple[int, float]], *, k: int, explore: float = 0.0, max_per_genre=None
) -> list[tuple[int, float]]:
    """Exploration, then diversity: the best k hits (of a ranked list fetched larger when either asks for more)."""
    return diversify(exploration(hits, len(hits) if max_per_genre else k, explore), k, max_per_genre)


def exploration(hits: list[tuple[int, float]], k: int, explore: float) -> list[tuple[int, float]]:
    """Reserve round(k * explore) slots for the best-matched movies with few ratings (exploration weight)."""
    slots = round(k * explore)
    if slots <= 0:
        return hits[:k]
    counts = dict(Movie.objects.filter(pk__in=[m for m, _ in hits]).values_list("id", "rating_count"))
    tail = [h for h in hits if counts.get(h[0], 0) <= LONG_TAIL_MAX_RATINGS][:slots]
    head = [h for h in hits if h not in tail][: k - len(tail)]
    return sorted(head + tail, key=lambda h: -h[1])


def diversify(hits: list[tuple[int, float]], k: int, max_per_genre: int | None) -> list[tuple[int, float]]:
    """At most max_per_genre results share a first genre (greedy, best first). Reads the movie rows for their genres
    (services/movie_rows.py: the rows step 6 then finds in memory)."""
    if not max_per_genre:
        return hits[:k]
    movies = movie_details([m for m, _ in hits])
    used: dict[str, int] = {}
    kept = []
    for movie_id, score in hits:
        names = [g.name for g in movies[movie_id].genres.all()] if movie_id in movies else []
        first = names[0] if names else ""
        if used.get(first, 0) < max_per_genre:
            used[first] = used.get(first, 0) + 1
            kept.append((movie_id, score))
        if len(kept) == k:
            break
    return kept


def exclude(hits: list[tuple[int, float]], ids) -> list[tuple[int, float]]:
    """The hits whose movie is not in ``ids``."""
    return [hit for hit in hits if hit[0] not in ids]


def in_genre(hits: list[tuple[int, float]], genre: str, genres: dict[int, frozenset[str]], shown: set[int]):
    """The hits of ``genre`` (``genres``: the live model's movie -> genre names) not ``shown`` already."""
    return [h for h in hits if h[0] not in shown and genre in genres.get(h[0], ())]


def leaning_genres(genre_sets: list, n: int) -> list[str]:
    """The genres most frequent among the suggestions (each suggestion given as its collection of genre names)."""
    counts: dict[str, int] = {}
    for names in genre_sets:
        for name in names:
            counts[name] = counts.get(name, 0) + 1
    return [name for name, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]]

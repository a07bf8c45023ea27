"""Safe Milvus filter expressions: validated ids, whitelisted genres, bounded years, escaped literals."""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Sequence

from movies.movielens import GENRES

# The 18 MovieLens 1M genre names: the allow-list when a caller passes none (VectorStore adds the names it writes).
# The site passes the catalogue's own list, movies.selectors.genre_names() (cached), the one source of genres.
ML1M_GENRES = frozenset(GENRES)

YEAR_MIN, YEAR_MAX = 1800, 2100
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
MAX_GENRE_LENGTH = 64


def as_movie_id(value: object) -> int:
    """Coerce one id to a Python int; bool, str and non-integral floats are refused (they signal a caller bug)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"movie id must be an integer, got {type(value).__name__} {value!r}")
    if not isinstance(value, numbers.Integral):
        if not float(value).is_integer():
            raise ValueError(f"movie id must be an integer, got {value!r}")
    as_int = int(value)
    if not INT64_MIN <= as_int <= INT64_MAX:
        raise ValueError(f"movie id {as_int} is outside the INT64 range")
    return as_int


def as_movie_ids(values: Iterable[object]) -> list[int]:
    """Coerce an iterable (list, set, numpy array) of ids; a bare string is refused rather than split into chars."""
    if isinstance(values, str | bytes):
        raise ValueError("movie ids must be a collection of integers, not a string")
    return [as_movie_id(v) for v in values]


def as_year(value: object, name: str) -> int:
    """A filter year: an integer in a sane range (huge or negative years are input errors, not empty results)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer year, got {type(value).__name__} {value!r}")
    year = int(value)
    if not YEAR_MIN <= year <= YEAR_MAX:
        raise ValueError(f"{name} {year} is outside {YEAR_MIN}..{YEAR_MAX}")
    return year


def quote(text: str) -> str:
    """A double-quoted Milvus string literal; backslash and quote escaped (the lexer knows C-style escapes)."""
    if any(ord(ch) < 32 for ch in text):
        raise ValueError(f"control characters are not allowed in a filter value: {text!r}")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def check_genre_name(name: object) -> str:
    """A genre name that fits the stored array (1..64 characters, no control characters; quoted when used)."""
    if not isinstance(name, str) or not 0 < len(name) <= MAX_GENRE_LENGTH:
        raise ValueError(f"genre must be a string of 1..{MAX_GENRE_LENGTH} characters, got {name!r}")
    if any(ord(ch) < 32 for ch in name):
        raise ValueError(f"genre {name!r} contains control characters")
    return name


def check_genres(genres: Sequence[str], known_genres: set[str] | frozenset[str] | None) -> list[str]:
    """Genres must be known names: unknown text never reaches an expression, even escaped."""
    if isinstance(genres, str | bytes):
        raise ValueError("genres must be a list of names, not a single string")
    known = ML1M_GENRES if known_genres is None else known_genres
    checked = []
    for genre in genres:
        if not isinstance(genre, str):
            raise ValueError(f"genre must be a string, got {type(genre).__name__} {genre!r}")
        if genre not in known:
            raise ValueError(f"unknown genre {genre!r}; known genres: {', '.join(sorted(known))}")
        checked.append(check_genre_name(genre))
    return checked


def build_filter(
    *,
    exclude_ids: Iterable[object] = (),
    genres: Sequence[str] = (),
    year_min: int | None = None,
    year_max: int | None = None,
    known_genres: set[str] | frozenset[str] | None = None,
    genre_mode: str = "any",
) -> str:
    """Build a filter expression from validated parts ("" when there is nothing to filter).

    `filter_params` templates fail in milvus-lite 3.2.2, so the string is built here from
    values that are either integers or whitelisted names, quoted and escaped on top.
    `genre_mode` "any" keeps movies with at least one of the genres, "all" those with every one.
    """
    if genre_mode not in ("any", "all"):
        raise ValueError(f"genre_mode must be 'any' or 'all', got {genre_mode!r}")
    parts = []
    ids = sorted(set(as_movie_ids(exclude_ids)))
    if ids:
        parts.append(f"movie_id not in [{', '.join(map(str, ids))}]")
    names = check_genres(genres, known_genres)
    if names:  # genres are an ARRAY field (schema.encode_genres)
        operator = "array_contains_any" if genre_mode == "any" else "array_contains_all"
        parts.append(f"{operator}(genres, [{', '.join(quote(g) for g in names)}])")
    low = None if year_min is None else as_year(year_min, "year_min")
    high = None if year_max is None else as_year(year_max, "year_max")
    if low is not None and high is not None and low > high:
        raise ValueError(f"year_min {low} is greater than year_max {high}")
    if low is not None:
        parts.append(f"year >= {low}")
    if high is not None:
        parts.append(f"year <= {high}")
    return " and ".join(f"({p})" for p in parts) if len(parts) > 1 else "".join(parts)

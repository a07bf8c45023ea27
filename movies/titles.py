"""Titles as people write them.

MovieLens stores "Godfather, The (1972)": the leading article moved to the end (in the original title and in an
alternate one in parentheses) and the year appended. ``display_title`` gives "The Godfather"; ``search_key`` gives
a form for matching what people type: lower case, no accents, no leading article, punctuation as spaces.
"""

from __future__ import annotations

import re
import unicodedata

ARTICLES = (
    "the", "a", "an", "les", "la", "le", "l'", "il", "i", "lo", "gli", "das", "der", "die", "den", "det", "el",
    "los", "las", "une", "un", "ein", "eine", "en", "et", "o", "os", "as",
)  # fmt: skip
_YEAR = re.compile(r"\s*\((\d{4})(?:[-–]\d{0,4})?\)\s*$")
_MOVED = re.compile(r"^(?P<name>.+), (?P<article>[^\s,()]+)$")
_ALTERNATE = re.compile(r"^(?P<main>.+?)\s+\((?P<alt>[^()]+)\)$")


def _article_first(name: str) -> str:
    """ "Godfather, The" -> "The Godfather"; "Atalante, L'" -> "L'Atalante"; anything else unchanged."""
    match = _MOVED.match(name.strip())
    if not match or match["article"].lower() not in ARTICLES:
        return name.strip()
    article = match["article"]
    return f"{article}{match['name']}" if article.endswith("'") else f"{article} {match['name']}"


def display_title(stored: str) -> str:
    """A MovieLens title without its year and with leading articles where people put them.

    "Godfather, The (1972)" -> "The Godfather";
    "City of Lost Children, The (Cité des enfants perdus, La) (1995)" -> "The City of Lost Children (La Cité des
    enfants perdus)"; "Seven (Se7en) (1995)" -> "Seven (Se7en)".
    """
    name = _YEAR.sub("", stored or "").strip()
    alternate = _ALTERNATE.match(name)
    if alternate and not alternate["alt"].lower().startswith(("a.k.a.", "aka ")):
        return f"{_article_first(alternate['main'])} ({_article_first(alternate['alt'])})"
    if alternate:
        return f"{_article_first(alternate['main'])} ({alternate['alt']})"
    return _article_first(name) or (stored or "").strip()


def fold(text: str) -> str:
    """Lower case, accents removed, every run of non-alphanumerics one space: "Amélie!" -> "amelie"."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()
    plain = plain.replace("'", "")
    return " ".join(re.sub(r"[^0-9a-z]+", " ", plain).split())


def drop_leading_article(folded: str) -> str:
    """ "the godfather" -> "godfather" (a folded text; a lone article is kept)."""
    words = folded.split(" ", 1)
    if len(words) == 2 and (words[0] in ARTICLES or words[0] + "'" in ARTICLES):
        return words[1]
    return folded


def search_key(text: str) -> str:
    """What titles and queries are compared by: folded, leading article dropped.

    search_key("Godfather, The (1972)") == search_key("the godfather") == "godfather".
    """
    return drop_leading_article(fold(display_title(text)))

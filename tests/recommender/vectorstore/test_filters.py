"""build_filter: only integers and whitelisted, escaped genre names reach a Milvus expression."""

import numpy as np
import pytest

from recommender.vectorstore import ML1M_GENRES, VectorStore, build_filter


def test_empty_filter_is_empty_string():
    assert build_filter() == ""


def test_full_filter_expression():
    expr = build_filter(exclude_ids=[3, np.int64(1), 3.0], genres=["Children's", "Drama"], year_min=1990, year_max=2000)
    assert expr == (
        '(movie_id not in [1, 3]) and (array_contains_any(genres, ["Children\'s", "Drama"]))'
        " and (year >= 1990) and (year <= 2000)"
    )


def test_ids_accept_numpy_arrays_and_sets():
    assert build_filter(exclude_ids=np.array([5, 2])) == "movie_id not in [2, 5]"
    assert build_filter(exclude_ids={7}) == "movie_id not in [7]"


@pytest.mark.parametrize("bad_id", ["1", "1 or 1==1", True, 1.5, float("nan"), None, 2**63, b"1"])
def test_non_integer_ids_rejected(bad_id):
    with pytest.raises(ValueError, match="movie id"):
        build_filter(exclude_ids=[bad_id])


def test_string_instead_of_id_list_rejected():
    with pytest.raises(ValueError, match="not a string"):
        build_filter(exclude_ids="123")


@pytest.mark.parametrize("genre", ['Drama" or 1==1', "Drama') or (1==1", "drama", "", 7, "Unknown"])
def test_unknown_or_injected_genres_rejected(genre):
    with pytest.raises(ValueError, match="genre"):
        build_filter(genres=[genre])


def test_single_genre_string_rejected():
    with pytest.raises(ValueError, match="list of names"):
        build_filter(genres="Drama")


@pytest.mark.parametrize(
    ("low", "high", "message"),
    [(10**12, None, "outside"), (None, -5, "outside"), ("1990", None, "integer"), (1990.0, None, "integer"),
     (True, None, "integer"), (2000, 1990, "greater")],
)  # fmt: skip
def test_bad_years_rejected(low, high, message):
    with pytest.raises(ValueError, match=message):
        build_filter(year_min=low, year_max=high)


def test_known_genres_extend_the_whitelist_and_are_escaped():
    odd = 'Odd "quoted" name'
    expr = build_filter(genres=[odd], known_genres=set(ML1M_GENRES) | {odd})
    assert expr == 'array_contains_any(genres, ["Odd \\"quoted\\" name"])'


@pytest.mark.parametrize("name", ["a\nb", "a\tb", "x" * 65])
def test_control_characters_and_long_names_rejected_even_if_known(name):
    with pytest.raises(ValueError, match="genre"):
        build_filter(genres=[name], known_genres={name})


def test_genre_mode_all():
    assert build_filter(genres=["Drama", "War"], genre_mode="all") == 'array_contains_all(genres, ["Drama", "War"])'
    with pytest.raises(ValueError, match="genre_mode"):
        build_filter(genre_mode="none")


@pytest.mark.parametrize(
    "filters",
    [{"genres": ['Drama" or 1==1']}, {"exclude_ids": ["7"]}, {"year_min": 10**9}, {"exclude_ids": [1.5]}],
)
def test_unsafe_search_input_never_reaches_milvus(filters):
    """Against an unreachable server: a ValueError (not a connection error) proves nothing was sent."""
    store = VectorStore("http://127.0.0.1:9", timeout=1)
    with pytest.raises(ValueError):
        store.search(np.ones(4, dtype=np.float32), k=5, **filters)
    assert store._client is None


@pytest.mark.parametrize("k", [0, -1, 10**6, True, 2.0])
def test_bad_k_rejected(k):
    with pytest.raises(ValueError, match="k must"):
        VectorStore("http://127.0.0.1:9", timeout=1).search(np.ones(4), k=k)


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match=".db"):
        VectorStore("/tmp/not-a-db-path")
    with pytest.raises(ValueError, match="identifiers"):
        VectorStore("http://127.0.0.1:9", prefix="movies-v")

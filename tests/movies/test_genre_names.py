"""genre_names(): the catalogue's genre list, read from the database once and then from the cache."""

import pytest

from movies.models import Genre
from movies.selectors import genre_names, genre_names_forget

pytestmark = pytest.mark.django_db


def test_genre_names_are_sorted_and_cached(django_assert_num_queries):
    Genre.objects.bulk_create([Genre(name="Drama"), Genre(name="Action")])
    with django_assert_num_queries(1):
        assert genre_names() == ["Action", "Drama"]
    with django_assert_num_queries(0):  # a request asks the cache, not the database
        assert genre_names() == ["Action", "Drama"]


def test_forget_makes_the_next_call_read_new_genres():
    Genre.objects.create(name="Drama")
    assert genre_names() == ["Drama"]
    Genre.objects.create(name="Western")
    assert genre_names() == ["Drama"]  # cached until forgotten (or GENRE_NAMES_CACHE_SECONDS pass)
    genre_names_forget()
    assert genre_names() == ["Drama", "Western"]

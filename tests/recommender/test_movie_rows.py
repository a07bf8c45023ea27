"""Movie rows behind two caches (recommender/services/movie_rows.py): this process's memory, the shared cache,
then one query."""

import pytest
from django.core.cache import cache

from recommender.services import movie_rows
from recommender.services.movie_rows import movie_details
from tests.factories import movies_create

pytestmark = pytest.mark.django_db


def test_rows_are_read_once_then_served_from_memory(django_assert_num_queries):
    movies_create(3)
    with django_assert_num_queries(2):  # the movies and their genres (prefetch)
        first = movie_details([1, 2, 3, 99])
    assert sorted(first) == [1, 2, 3] and [g.name for g in first[1].genres.all()]
    with django_assert_num_queries(0):
        again = movie_details([3, 1])
    assert again[1] is first[1]  # the same in-process row, not a copy


def test_clearing_the_shared_cache_drops_every_process_s_copies(django_assert_num_queries):
    movies_create(2)
    movie_details([1, 2])
    cache.clear()  # a deploy or another test: the generation token goes with it
    with django_assert_num_queries(2):
        movie_details([1, 2])


def test_rows_another_process_cached_are_taken_from_the_shared_cache(django_assert_num_queries):
    movies_create(2)
    movie_details([1, 2])
    movie_rows._local.clear()  # as in a process that has not served these movies yet
    with django_assert_num_queries(0):
        assert sorted(movie_details([1, 2])) == [1, 2]


def test_an_expired_row_is_fetched_again(monkeypatch, django_assert_num_queries):
    movies_create(1)
    movie_details([1])
    later = movie_rows.time.monotonic() + movie_rows.MOVIE_CACHE_SECONDS + 1
    monkeypatch.setattr(movie_rows.time, "monotonic", lambda: later)
    cache.delete("movie:1")  # the shared copy expired too
    with django_assert_num_queries(2):
        assert movie_details([1])[1].pk == 1

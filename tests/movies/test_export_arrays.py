"""The training export reads the imported ratings into numpy arrays chunk by chunk: same arrays whatever the chunk,
one SELECT (no model instances), the values the importer wrote; the arrays' compact ids."""

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from movies.models import Movie, Profile, Rating
from recommender.ml import data
from recommender.ml.data import Interactions
from recommender.services import dataset as export

from .conftest import ML1M, run_import

pytestmark = pytest.mark.django_db


def as_rows(interactions) -> list[tuple]:
    return sorted(
        zip(
            interactions.user_ids.tolist(),
            interactions.movie_ids.tolist(),
            interactions.scores.tolist(),
            interactions.timestamps.tolist(),
            strict=True,
        )
    )


def test_chunked_export_matches_the_rating_table():
    run_import("--path", str(ML1M))
    with CaptureQueriesContext(connection) as captured:
        small = export.interactions_export(chunk=3)  # 8 ratings: chunks of 3, 3 and 2
    whole = export.interactions_export()

    selects = [q["sql"] for q in captured.captured_queries if "movies_rating" in q["sql"]]
    assert len(selects) == 2  # the count, then the one streamed SELECT
    assert (small.user_ids.dtype, small.movie_ids.dtype, small.scores.dtype, small.timestamps.dtype) == (
        np.int32,  # database ids fit 31 bits: half the memory of int64 at 25M ratings
        np.int32,
        np.float32,
        np.int64,
    )
    assert len(small) == Rating.objects.count() == 8
    assert as_rows(small) == as_rows(whole)
    expected = sorted(
        (r.user_id, r.movie_id, float(r.score), int(r.rated_at.timestamp())) for r in Rating.objects.all()
    )
    assert as_rows(small) == expected
    ml1 = Profile.objects.get(movielens_id=1).user_id
    assert (ml1, 1, 5.0, 978300760) in expected  # ratings.dat's first line, 1::1::5::978300760


def test_ratings_added_after_the_count_still_fit(monkeypatch):
    run_import("--path", str(ML1M))
    monkeypatch.setattr(Rating.objects, "count", lambda: 0)  # as if every rating arrived after the count
    got = export.interactions_export(chunk=2)
    assert len(got) == 8
    assert as_rows(got) == as_rows(export.interactions_export())


def test_ids_too_large_for_int32_widen_the_arrays(monkeypatch):
    run_import("--path", str(ML1M))
    monkeypatch.setattr(export, "INT32_MAX", 2)  # as if ids above 2 did not fit 31 bits
    monkeypatch.setattr(data, "INT32_MAX", 2)
    got = export.interactions_export(chunk=3)
    assert got.movie_ids.dtype == np.int64
    assert as_rows(got) == as_rows(export.interactions_export())


def test_empty_database_exports_empty_arrays():
    got = export.interactions_export(chunk=5)
    assert len(got) == 0 and got.scores.dtype == np.float32


def test_ids_stay_int64_when_they_do_not_fit_int32():
    got = Interactions([2**31, 1], [5, 6], [4, 3], [0, 1])
    assert (got.user_ids.dtype, got.movie_ids.dtype) == (np.int64, np.int32)
    assert got.user_ids.tolist() == [2**31, 1]


def test_a_subset_keeping_every_row_shares_the_arrays():
    ratings = Interactions(np.arange(5), np.arange(5), np.full(5, 3.0), np.arange(5))
    kept = ratings.subset(np.ones(5, dtype=bool))
    assert kept.user_ids is ratings.user_ids and kept.timestamps is ratings.timestamps
    fewer = ratings.subset(np.array([True, False, True, True, True]))
    assert fewer.user_ids.tolist() == [0, 2, 3, 4] and not np.shares_memory(fewer.user_ids, ratings.user_ids)
    assert ratings.subset(np.array([4, 0])).movie_ids.tolist() == [4, 0]


def test_half_stars_reach_the_arrays_exactly():
    from tests.factories import RatingFactory, UserFactory

    movie = Movie.objects.create(id=1, title="Half (2001)")
    scores = [0.5, 3.5, 4.0, 5.0]
    for score in scores:
        RatingFactory(user=UserFactory(), movie=movie, score=score)
    assert sorted(export.interactions_export(chunk=3).scores.tolist()) == scores

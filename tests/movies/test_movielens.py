"""The MovieLens facts (movies/movielens.py): exact ages onto ML-1M's buckets, and the copies the ML package keeps
(it imports nothing from the project) held equal to the one definition."""

import pytest

from movies.models import Profile
from movies.movielens import AGE_BUCKETS, AGE_UNKNOWN, GENRES, SCORE_MAX, SCORE_STEP, SCORES, age_bucket
from recommender.ml import data, encoder
from recommender.vectorstore import ML1M_GENRES


@pytest.mark.parametrize(
    ("age", "bucket"),
    [(0, 0), (-3, 0), (1, 1), (7, 1), (17, 1), (18, 18), (24, 18), (25, 25), (34, 25), (35, 35), (44, 35), (45, 45)]
    + [(49, 45), (50, 50), (55, 50), (56, 56), (73, 56)],
)
def test_age_buckets(age, bucket):
    assert age_bucket(age) == bucket


def test_the_ml_package_reads_the_same_age_buckets_and_score_range():
    assert data.AGE_BUCKETS == tuple(AGE_BUCKETS) and AGE_UNKNOWN == 0  # the encoder's index 0: unknown
    assert encoder.N_AGES == len(AGE_BUCKETS) + 1
    assert encoder.RATING_LEVELS == len(SCORES) == round(SCORE_MAX / SCORE_STEP)
    assert encoder.WHOLE_STAR_LEVELS == SCORE_MAX
    assert list(encoder.rating_index(SCORES)) == list(range(1, len(SCORES) + 1))


def test_one_genre_list_and_one_age_list():
    assert len(GENRES) == 18 and list(GENRES) == sorted(GENRES) and ML1M_GENRES == frozenset(GENRES)
    assert Profile.AGE_CHOICES == list(AGE_BUCKETS.items())

"""The benchmarks read ML-100K as the site stores it: benchmarks.movielens100k parses with the importer."""

import pytest

from benchmarks.movielens100k import ML100K_ENV, load_ml100k, ml100k_path
from movies.models import Profile, Rating
from recommender.services.dataset import catalog_export

from .conftest import ML100K, run_import

pytestmark = pytest.mark.django_db


def test_the_benchmark_dataset_agrees_with_the_imported_database():
    run_import("--path", str(ML100K))
    bench, stored = load_ml100k(ML100K), catalog_export()

    assert bench.catalog.movie_ids.tolist() == stored.movie_ids.tolist()
    assert bench.catalog.titles == stored.titles
    assert bench.catalog.genres == stored.genres
    assert bench.catalog.years.tolist() == stored.years.tolist()
    profiles = {p.movielens_id: (p.gender, p.age, p.occupation) for p in Profile.objects.all()}
    users = zip(bench.users.user_ids.tolist(), bench.users.genders, bench.users.ages.tolist(),
                bench.users.occupations.tolist(), strict=True)  # fmt: skip
    assert {user: (gender, age, occupation) for user, gender, age, occupation in users} == profiles  # ML-1M codes
    rated = Rating.objects.values_list("user__profile__movielens_id", "movie_id", "score")
    ratings = bench.interactions
    assert sorted(zip(ratings.user_ids.tolist(), ratings.movie_ids.tolist(), ratings.scores.tolist(), strict=True)) == (
        sorted((u, m, float(s)) for u, m, s in rated)
    )


def test_the_dataset_path_is_an_argument_else_the_environment_else_the_default(monkeypatch, tmp_path):
    monkeypatch.delenv(ML100K_ENV, raising=False)
    assert ml100k_path().parts[-3:] == ("shared", "datasets", "ml-100k")
    monkeypatch.setenv(ML100K_ENV, str(tmp_path))
    assert ml100k_path() == tmp_path
    assert ml100k_path(ML100K) == ML100K

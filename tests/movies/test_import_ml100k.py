"""import_movielens on the MovieLens 100K layout: detection and mapping onto the ML-1M conventions."""

import pytest

from movies.importing.ml100k import OCCUPATION_CODES, occupation_code
from movies.models import Genre, Movie, Profile, Rating

from .conftest import ML100K, run_import

pytestmark = pytest.mark.django_db


def test_detects_and_imports_the_100k_layout():
    out = run_import("--path", str(ML100K))

    assert "ml-100k" in out
    assert "users: 5 created" in out and "ratings: 7 created" in out
    assert list(Movie.objects.values_list("id", "title", "year")) == [
        (1, "Harbour Lights (1995)", 1995),
        (2, "Crème Brûlée (1996)", 1996),
        (3, "Nameless Picture", 1997),  # no year in the title: taken from the release date
        (4, "unknown", None),
    ]
    assert set(Movie.objects.get(id=1).genres.values_list("name", flat=True)) == {"Animation", "Children's", "Comedy"}
    assert not Movie.objects.get(id=4).genres.exists()  # the "unknown" genre is skipped
    assert not Genre.objects.filter(name="unknown").exists()
    profiles = {p.movielens_id: (p.gender, p.age, p.occupation, p.zip_code) for p in Profile.objects.all()}
    assert profiles == {
        1: ("M", 18, 17, "85711"),  # 24, technician -> 18-24, technician/engineer
        2: ("F", 50, 0, "94043"),  # 53, other -> 50-55, other
        3: ("M", 1, 10, "32067"),  # 15, student -> under 18, K-12 student
        4: ("F", 25, 1, "15213"),  # 33, librarian -> 25-34, academic/educator
        5: ("M", 56, 14, "29206"),  # 60, salesman -> 56+, sales/marketing
    }
    assert Rating.objects.get(user__username="ml5", movie_id=1).score == 2


def test_rerun_of_the_100k_layout_changes_nothing():
    run_import("--path", str(ML100K))
    before = list(Rating.objects.values_list("id", "score", "rated_at"))
    out = run_import("--path", str(ML100K))
    assert "ratings: 0 created, 0 updated" in out
    assert list(Rating.objects.values_list("id", "score", "rated_at")) == before


def test_every_100k_occupation_maps_to_an_ml1m_code():
    assert set(OCCUPATION_CODES.values()) <= set(Profile.Occupation.values)
    assert occupation_code("student", 19) == Profile.Occupation.GRAD_STUDENT
    assert occupation_code("student", 12) == Profile.Occupation.K12_STUDENT
    assert occupation_code("Administrator", 40) == Profile.Occupation.CLERICAL
    assert occupation_code("entertainment", 40) == Profile.Occupation.ARTIST
    assert occupation_code("astronaut", 40) is None

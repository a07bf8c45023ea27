"""Query-count guards: the rating writes cost the same few statements however many ratings there are."""

import importlib.util
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from movies.importing.ratings_db import STAGE
from movies.models import Genre, Movie, Profile, Rating

from .conftest import ML1M, run_import

pytestmark = pytest.mark.django_db
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "make_synthetic_movielens.py"
WRITES = ("INSERT", "UPDATE", "DELETE")


def synthetic(out_dir: Path, ratings: int) -> Path:
    spec = importlib.util.spec_from_file_location("make_synthetic_movielens", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.generate(out_dir, users=30, movies=60, ratings=ratings, seed=1)


def import_queries(path: Path) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        run_import("--path", str(path))
    return [query["sql"] for query in captured.captured_queries]


def test_query_count_does_not_grow_with_the_number_of_ratings(tmp_path):
    few = import_queries(synthetic(tmp_path / "few", ratings=600))
    for model in (Rating, Movie, Genre, Profile, get_user_model()):
        model.objects.all().delete()
    many = import_queries(synthetic(tmp_path / "many", ratings=1700))
    assert len(many) == len(few)


def test_small_import_stays_within_a_fixed_query_budget(django_assert_max_num_queries):
    with django_assert_max_num_queries(30):
        run_import("--path", str(ML1M))


def test_unchanged_rerun_writes_only_the_ratings_upsert(tmp_path):
    path = synthetic(tmp_path / "data", ratings=900)
    run_import("--path", str(path))
    writes = [sql for sql in import_queries(path) if sql.lstrip().upper().startswith(WRITES)]
    # Only the staging rows, the (no-op) ratings upsert and the counter UPDATEs (which match no row):
    # no user, profile, genre or movie is rewritten.
    assert [sql for sql in writes if STAGE not in sql and "SET rating_count" not in sql] == []

"""The streaming import: ratings read and staged in chunks give the same result as one chunk, bad lines are named
across chunk boundaries, and memory does not grow with the number of ratings."""

import importlib.util
import re
import tracemalloc
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from django.db import connection

from movies.importing import ratings_file
from movies.importing.ratings_db import STAGE
from movies.importing.sources import source_open
from movies.models import Genre, Movie, Profile, Rating

from .conftest import append, rewrite, run_import
from .test_import_ml1m import assert_counters_match_ratings, content

pytestmark = pytest.mark.django_db
User = get_user_model()
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "make_synthetic_movielens.py"


def synthetic(out_dir: Path, **shape) -> Path:
    spec = importlib.util.spec_from_file_location("make_synthetic_movielens", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.generate(out_dir, seed=1, **shape)


def empty_tables() -> None:
    for model in (Rating, Movie, Genre, Profile, User):
        model.objects.all().delete()


def stage_exists() -> bool:
    return STAGE in connection.introspection.table_names(include_views=False) or _temp_table_exists()


def _temp_table_exists() -> bool:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT 1 FROM sqlite_temp_master WHERE name = %s", [STAGE])
        else:
            cursor.execute("SELECT 1 FROM pg_class WHERE relname = %s AND relpersistence = 't'", [STAGE])
        return cursor.fetchone() is not None


@pytest.fixture
def data(tmp_path) -> Path:
    return synthetic(tmp_path / "data", users=30, movies=60, ratings=600)


def test_chunks_of_seven_import_what_one_chunk_imports(data, monkeypatch):
    run_import("--path", str(data))
    whole = content()
    empty_tables()
    chunks = []
    real_chunks = ratings_file.ratings_chunks

    def counted(*args, **kwargs):
        for rows in real_chunks(*args, **kwargs):
            chunks.append(len(rows))
            yield rows

    monkeypatch.setattr(ratings_file, "CHUNK_ROWS", 7)
    monkeypatch.setattr(ratings_file, "ratings_chunks", counted)

    out = run_import("--path", str(data))

    assert chunks == [7] * (600 // 7) + [600 % 7]
    assert "ratings: 600 created, 0 updated" in out
    assert content() == whole
    assert_counters_match_ratings()
    assert not stage_exists()
    assert "ratings: 0 created, 0 updated" in run_import("--path", str(data))  # re-run: nothing changes


@pytest.mark.parametrize("first_line", [1, 5])  # an earlier chunk / the same chunk as the repeat
def test_duplicate_in_any_chunk_is_named_and_nothing_is_written(data, monkeypatch, first_line):
    monkeypatch.setattr(ratings_file, "CHUNK_ROWS", 7)
    ratings = data / "ratings.dat"
    lines = ratings.read_bytes().decode("iso-8859-1").splitlines()
    user, movie, _, stamp = lines[first_line - 1].split("::")
    repeat = f"{user}::{movie}::1::{stamp}"
    repeat_at = 6 if first_line == 5 else 600 + 1  # line 6 shares the chunk of lines 1-7 with line 5
    if repeat_at == 6:
        rewrite(ratings, lines[5] + "\n", repeat + "\n")
    else:
        append(ratings, repeat)

    message = f"ratings.dat line {repeat_at}: duplicate rating for user {user} and movie {movie}"
    with pytest.raises(CommandError, match=re.escape(message)):
        run_import("--path", str(data))

    assert (User.objects.count(), Movie.objects.count(), Rating.objects.count()) == (0, 0, 0)
    assert not stage_exists()


def test_a_duplicate_before_a_bad_line_in_a_later_chunk_is_named_first(data, monkeypatch):
    monkeypatch.setattr(ratings_file, "CHUNK_ROWS", 7)
    ratings = data / "ratings.dat"
    user, movie, _, stamp = ratings.read_bytes().decode("iso-8859-1").splitlines()[0].split("::")
    repeat_at = append(ratings, f"{user}::{movie}::2::{stamp}")
    for _ in range(10):
        append(ratings, "")  # blank lines are skipped, and still counted
    bad_at = append(ratings, f"{user}::{movie}::9::{stamp}")

    with pytest.raises(CommandError, match=f"ratings.dat line {repeat_at}: duplicate rating"):
        run_import("--path", str(data))
    rewrite(ratings, f"{user}::{movie}::2::{stamp}\n", "\n")
    with pytest.raises(CommandError, match=f"ratings.dat line {bad_at}: score 9 is outside 1-5"):
        run_import("--path", str(data))


def test_dry_run_in_chunks_stages_and_drops_everything(data, monkeypatch):
    monkeypatch.setattr(ratings_file, "CHUNK_ROWS", 7)
    out = run_import("--path", str(data), "--dry-run")
    assert "Dry run" in out and "600 ratings" in out
    assert (User.objects.count(), Movie.objects.count(), Rating.objects.count()) == (0, 0, 0)
    assert not stage_exists()


def test_reading_all_ratings_into_memory_refuses_duplicates_too(data):
    ratings = data / "ratings.dat"
    user, movie, _, stamp = ratings.read_bytes().decode("iso-8859-1").splitlines()[2].split("::")
    assert len(source_open(data).parse().ratings) == 600
    line_no = append(ratings, f"{user}::{movie}::3::{stamp}")
    with pytest.raises(Exception, match=f"ratings.dat line {line_no}: duplicate rating"):
        source_open(data).parse().ratings  # noqa: B018 (the property reads the file)


def _peak_bytes(path: Path) -> int:
    tracemalloc.start()
    try:
        run_import("--path", str(path), verbosity=0)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_import_memory_does_not_grow_with_the_number_of_ratings(tmp_path, monkeypatch):
    """Ten times the ratings (same users and movies), chunks of 500 rows read 16 KiB at a time: the Python heap's
    peak stays put. Keeping every rating (a tuple of ints each, ~100 bytes) would add megabytes."""
    monkeypatch.setattr(ratings_file, "CHUNK_ROWS", 500)
    monkeypatch.setattr(ratings_file, "BLOCK_BYTES", 16 << 10)
    few = synthetic(tmp_path / "few", users=200, movies=400, ratings=4_000)
    many = synthetic(tmp_path / "many", users=200, movies=400, ratings=40_000)
    _peak_bytes(few)  # warm-up: imports, caches and query plans are not what is measured
    empty_tables()
    few_peak = _peak_bytes(few)
    empty_tables()
    many_peak = _peak_bytes(many)
    assert Rating.objects.count() == 40_000
    assert many_peak - few_peak < 1_000_000, (few_peak, many_peak)

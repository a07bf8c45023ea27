"""import_movielens on the ML-1M layout: values, Latin-1, zip input, dry run, re-runs and updates."""

import zipfile
from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Sum

from movies.importing import ratings_db
from movies.models import Genre, Movie, Profile, Rating

from .conftest import ML1M, append, rewrite, run_import

pytestmark = pytest.mark.django_db
User = get_user_model()


def snapshot() -> dict:
    """Every row the importer writes, ids and password hashes included, as plain values."""
    return {
        "users": sorted(User.objects.values_list("id", "username", "password")),
        "profiles": sorted(
            Profile.objects.values_list("id", "user_id", "movielens_id", "gender", "age", "occupation", "zip_code")
        ),
        "genres": sorted(Genre.objects.values_list("id", "name")),
        "movies": sorted(Movie.objects.values_list("id", "title", "year", "rating_count", "rating_total")),
        "movie_genres": sorted(Movie.genres.through.objects.values_list("id", "movie_id", "genre_id")),
        "ratings": sorted(Rating.objects.values_list("id", "user_id", "movie_id", "score", "rated_at")),
    }


def content() -> dict:
    """What was imported, without database ids (to compare two imports into emptied tables)."""
    return {
        "profiles": sorted(Profile.objects.values_list("movielens_id", "gender", "age", "occupation", "zip_code")),
        "movies": sorted(Movie.objects.values_list("id", "title", "year", "rating_count", "rating_total")),
        "movie_genres": sorted(Movie.genres.through.objects.values_list("movie_id", "genre__name")),
        "ratings": sorted(Rating.objects.values_list("user__username", "movie_id", "score", "rated_at")),
    }


def genres_of(movie_id: int) -> set[str]:
    return set(Movie.objects.get(id=movie_id).genres.values_list("name", flat=True))


def rating(username: str, movie_id: int) -> Rating:
    return Rating.objects.get(user__username=username, movie_id=movie_id)


def assert_counters_match_ratings() -> None:
    expected = {
        row["movie_id"]: (row["n"], row["total"])
        for row in Rating.objects.values("movie_id").annotate(n=Count("id"), total=Sum("score"))
    }
    for movie in Movie.objects.all():
        assert (movie.rating_count, movie.rating_total) == expected.get(movie.id, (0, 0)), movie.id


def test_imports_movies_users_and_ratings():
    out = run_import("--path", str(ML1M))

    assert "users: 4 created, 0 updated" in out
    assert "movies: 5 created, 0 updated" in out
    assert "genres: 8 created, 0 updated" in out
    assert "ratings: 8 created, 0 updated" in out
    assert list(Movie.objects.values_list("id", "title", "year")) == [
        (1, "Harbour Lights (1995)", 1995),
        (2, "Misérables, Les (1995)", 1995),  # Latin-1 bytes decoded right
        (3, "Garçon Stupide, The (1998)", 1998),
        (4, "Quiet Meridian (1972)", 1972),
        (5, "Untitled Reel", None),
    ]
    assert genres_of(1) == {"Animation", "Children's", "Comedy"}
    assert genres_of(5) == {"Documentary"}
    user = User.objects.get(username="ml4")
    assert not user.has_usable_password()
    profile = user.profile
    assert (profile.movielens_id, profile.gender, profile.age, profile.occupation, profile.zip_code) == (
        4,
        "F",
        45,
        7,
        "02460-1234",
    )
    first = rating("ml1", 1)
    assert (first.score, first.rated_at) == (5, datetime.fromtimestamp(978300760, UTC))
    assert (Movie.objects.get(id=1).rating_count, Movie.objects.get(id=1).rating_total) == (3, 12)
    assert_counters_match_ratings()


def test_zip_input_matches_folder_input(tmp_path):
    archive = tmp_path / "ml-1m.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in ML1M.iterdir():
            zipped.write(path, f"ml-1m/{path.name}")  # GroupLens zips keep the ml-1m/ folder
    run_import("--path", str(ML1M))
    from_folder = content()
    for model in (Rating, Movie, Genre, Profile, User):
        model.objects.all().delete()

    out = run_import("--path", str(archive))

    assert "ratings: 8 created" in out
    assert content() == from_folder


def test_movielens_path_setting_is_used_without_arguments(settings):
    settings.MOVIELENS_PATH = str(ML1M)
    out = run_import()
    assert "ratings: 8 created" in out
    assert Rating.objects.count() == 8


def test_dry_run_validates_and_writes_nothing():
    out = run_import("--path", str(ML1M), "--dry-run")
    assert "Dry run" in out and "8 ratings" in out
    assert (User.objects.count(), Movie.objects.count(), Genre.objects.count(), Rating.objects.count()) == (0, 0, 0, 0)


def test_rerun_of_the_same_files_changes_nothing():
    run_import("--path", str(ML1M))
    before = snapshot()
    stamps = sorted(Profile.objects.values_list("user_id", "feed_version"))

    out = run_import("--path", str(ML1M))

    assert snapshot() == before
    assert sorted(Profile.objects.values_list("user_id", "feed_version")) == stamps  # cached suggestions stand
    for kind in ("users", "movies", "genres", "ratings"):
        assert f"{kind}: 0 created, 0 updated" in out


def test_rerun_with_changed_values_updates_them(ml1m_dir):
    run_import("--path", str(ml1m_dir))
    ids_before = sorted(Rating.objects.values_list("id", flat=True))
    stamps = dict(Profile.objects.values_list("user_id", "feed_version"))
    rewrite(ml1m_dir / "movies.dat", "Quiet Meridian (1972)", "Quiet Méridien (1973)")
    rewrite(ml1m_dir / "movies.dat", "Animation|Children's|Comedy", "Comedy|Fantasy")
    rewrite(ml1m_dir / "users.dat", "2::M::56::16::70072", "2::F::50::16::70073")
    rewrite(ml1m_dir / "ratings.dat", "1::2::3::978302109", "1::2::4::978302109")
    rewrite(ml1m_dir / "ratings.dat", "4::5::4::978824291", "4::5::4::978824299")

    out = run_import("--path", str(ml1m_dir))

    assert "users: 0 created, 1 updated" in out
    assert "movies: 0 created, 2 updated" in out
    assert "genres: 1 created, 0 updated" in out
    assert "ratings: 0 created, 2 updated" in out
    assert Movie.objects.filter(id=4).values_list("title", "year").get() == ("Quiet Méridien (1973)", 1973)
    assert genres_of(1) == {"Comedy", "Fantasy"}
    profile = Profile.objects.get(movielens_id=2)
    assert (profile.gender, profile.age, profile.zip_code) == ("F", 50, "70073")
    assert rating("ml1", 2).score == 4
    assert rating("ml4", 5).rated_at == datetime.fromtimestamp(978824299, UTC)
    assert sorted(Rating.objects.values_list("id", flat=True)) == ids_before  # updated in place, not re-created
    assert_counters_match_ratings()
    after = dict(Profile.objects.values_list("user_id", "feed_version"))
    assert after == {user: stamp + 1 for user, stamp in stamps.items()}  # every user's suggestions recompute


def test_ratings_missing_from_the_file_are_left_alone(ml1m_dir):
    run_import("--path", str(ml1m_dir))
    rewrite(ml1m_dir / "ratings.dat", "3::4::1::978301398\n", "")
    append(ml1m_dir / "ratings.dat", "3::3::4::978301400")

    out = run_import("--path", str(ml1m_dir))

    assert "ratings: 1 created, 0 updated" in out
    assert rating("ml3", 4).score == 1  # still there
    assert Rating.objects.count() == 9
    assert_counters_match_ratings()


def test_new_users_and_movies_are_added_on_rerun(ml1m_dir):
    run_import("--path", str(ml1m_dir))
    append(ml1m_dir / "movies.dat", "6::Late Arrival (2000)::Thriller")
    append(ml1m_dir / "users.dat", "5::M::35::12::10001")
    append(ml1m_dir / "ratings.dat", "5::6::5::978400000")

    out = run_import("--path", str(ml1m_dir))

    assert "users: 1 created, 0 updated" in out
    assert "movies: 1 created, 0 updated" in out
    assert "ratings: 1 created, 0 updated" in out
    assert Profile.objects.get(movielens_id=5).user.username == "ml5"
    assert Movie.objects.get(id=6).rating_count == 1


def test_a_profile_less_account_named_like_a_movielens_user_is_adopted():
    existing = User.objects.create_user(username="ml3")
    run_import("--path", str(ML1M))
    assert Profile.objects.get(movielens_id=3).user_id == existing.id
    assert User.objects.filter(username__startswith="ml").count() == 4


def test_verbosity_zero_prints_nothing():
    assert run_import("--path", str(ML1M), verbosity=0) == ""
    assert Rating.objects.count() == 8


def test_bulk_path_restores_the_rating_foreign_keys(monkeypatch):
    """Large imports on PostgreSQL drop and re-add the rating foreign keys: they must come back intact."""
    monkeypatch.setattr(ratings_db, "FK_RECHECK_MIN_ROWS", 1)  # take the large-import path on the fixture
    run_import("--path", str(ML1M))

    assert Rating.objects.count() == 8
    assert_counters_match_ratings()
    with pytest.raises(IntegrityError), transaction.atomic():
        Rating.objects.create(user=User.objects.get(username="ml1"), movie_id=999, score=3, rated_at=datetime.now(UTC))
        connection.check_constraints()  # deferred constraints: check now, not at the test's rollback

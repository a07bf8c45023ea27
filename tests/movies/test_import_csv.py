"""import_movielens on the CSV layout of today's releases (ml-latest-small, ml-25m, ml-32m): half stars, quoted
UTF-8 titles, users found in ratings.csv, bad lines named, all or nothing, re-runs, dry run, zip input."""

import io
import re
import zipfile
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import execute_from_command_line
from django.core.management.base import CommandError
from django.db import connections

from movies.importing import ratings_file
from movies.importing.ratings_file import BadBytes, text_lines
from movies.importing.sources import source_open
from movies.models import Genre, Movie, Profile, Rating
from recommender.services.demo import demo_accounts_reset

from .conftest import run_import
from .test_import_ml1m import assert_counters_match_ratings, content, genres_of, rating, snapshot

pytestmark = pytest.mark.django_db
User = get_user_model()

MOVIES = """movieId,title,genres
1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy
2,"Dear ""Friend"", A (1999)",Comedy|Drama
3,Amélie (Fabuleux destin d'Amélie Poulain) (2001),Comedy|Romance
4,Generic Film ,(no genres listed)
5,Big Screen (2010),Documentary|IMAX
7,"Noir, Night (1948)",Film-Noir
"""
# users 1, 2, 3 and 10 (no users file: these are the users); movie 7 is never rated
RATINGS = """userId,movieId,rating,timestamp
1,1,4.0,964982703
1,2,3.5,964981247
1,5,5.0,964982224
2,1,0.5,1445714835
2,3,2.5,1445714836
3,4,4.5,1493848402
3,1,3.5,1493848403
10,5,1.0,1493850000
"""
TAGS = "userId,movieId,tag,timestamp\n2,1,pixar,1445714994\n"
LINKS = "movieId,imdbId,tmdbId\n1,0114709,862\n2,0112346,\n"
GENRES = {"Adventure", "Animation", "Children", "Comedy", "Fantasy", "Drama", "Romance", "Documentary", "IMAX"}
GENRES |= {"Film-Noir"}


def write_dataset(folder: Path, *, movies: str = MOVIES, ratings: str = RATINGS, extra: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "movies.csv").write_bytes(movies.encode())
    (folder / "ratings.csv").write_bytes(ratings.encode())
    if extra:
        (folder / "tags.csv").write_bytes(TAGS.encode())
        (folder / "links.csv").write_bytes(LINKS.encode())
    return folder


@pytest.fixture
def data(tmp_path) -> Path:
    return write_dataset(tmp_path / "ml-latest-small")


def zipped(folder: Path, archive: Path) -> Path:
    """The zip as GroupLens ships it: one top folder holding the files."""
    with zipfile.ZipFile(archive, "w") as out:
        for path in sorted(folder.iterdir()):
            out.write(path, f"{folder.name}/{path.name}")
    return archive


def set_ratings(folder: Path, text: str) -> None:
    (folder / "ratings.csv").write_bytes(text.encode())


def empty_tables() -> None:
    for model in (Rating, Movie, Genre, Profile, User):
        model.objects.all().delete()


def test_imports_movies_users_and_half_star_ratings(data):
    out = run_import("--path", str(data))

    assert "ml-csv from" in out and "4 users, 6 movies, 10 genres, 8 ratings" in out
    assert "users: 4 created, 0 updated" in out
    assert "movies: 6 created, 0 updated" in out
    assert "genres: 10 created, 0 updated" in out
    assert "ratings: 8 created, 0 updated" in out
    assert "note: tags.csv is not imported" in out and "note: links.csv is not imported" in out
    assert list(Movie.objects.values_list("id", "title", "year")) == [
        (1, "Toy Story (1995)", 1995),
        (2, 'Dear "Friend", A (1999)', 1999),  # quoted: a comma and a doubled quote inside
        (3, "Amélie (Fabuleux destin d'Amélie Poulain) (2001)", 2001),  # UTF-8 decoded right
        (4, "Generic Film", None),  # no year; the trailing space stripped
        (5, "Big Screen (2010)", 2010),
        (7, "Noir, Night (1948)", 1948),
    ]
    assert set(Genre.objects.values_list("name", flat=True)) == GENRES
    assert genres_of(4) == set()  # "(no genres listed)" is a marker, not a genre
    assert genres_of(5) == {"Documentary", "IMAX"}
    assert not Genre.objects.filter(name__icontains="no genres").exists()

    assert rating("ml1", 2).score == 3.5  # half stars kept exactly
    assert rating("ml2", 1).score == 0.5
    assert sorted(Rating.objects.values_list("score", flat=True)) == [0.5, 1.0, 2.5, 3.5, 3.5, 4.0, 4.5, 5.0]
    toy_story = Movie.objects.get(id=1)
    assert (toy_story.rating_count, toy_story.rating_total) == (3, 8.0)  # 4.0 + 0.5 + 3.5
    assert toy_story.average_rating == pytest.approx(8 / 3)
    assert (Movie.objects.get(id=7).rating_count, Movie.objects.get(id=7).rating_total) == (0, 0)
    assert_counters_match_ratings()

    # no users file: the users are the ids rated, with no demographics (blank / NULL, nothing made up)
    profiles = Profile.objects.order_by("movielens_id")
    assert [(p.movielens_id, p.user.username) for p in profiles] == [(1, "ml1"), (2, "ml2"), (3, "ml3"), (10, "ml10")]
    assert {(p.gender, p.age, p.occupation, p.zip_code) for p in profiles} == {("", None, None, "")}
    assert not User.objects.get(username="ml10").has_usable_password()


def test_zip_with_its_top_folder_matches_the_folder(data, tmp_path):
    run_import("--path", str(data))
    from_folder = content()
    empty_tables()

    out = run_import("--path", str(zipped(data, tmp_path / "ml-latest-small.zip")))

    assert "ratings: 8 created" in out
    assert content() == from_folder


def test_the_folder_above_the_dataset_is_found_too(data):
    assert "ratings: 8 created" in run_import("--path", str(data.parent))


def test_rerun_changes_nothing(data):
    run_import("--path", str(data))
    before = snapshot()

    out = run_import("--path", str(data))

    assert snapshot() == before
    for kind in ("users", "movies", "genres", "ratings"):
        assert f"{kind}: 0 created, 0 updated" in out


def test_rerun_with_a_changed_half_star_updates_it_and_the_counters(data):
    run_import("--path", str(data))
    set_ratings(data, RATINGS.replace("2,1,0.5,1445714835", "2,1,1.5,1445714835") + "10,7,2.5,1493850001\n")

    out = run_import("--path", str(data))

    assert "ratings: 1 created, 1 updated" in out
    assert rating("ml2", 1).score == 1.5
    assert (Movie.objects.get(id=1).rating_count, Movie.objects.get(id=1).rating_total) == (3, 9.0)
    assert (Movie.objects.get(id=7).rating_count, Movie.objects.get(id=7).rating_total) == (1, 2.5)
    assert_counters_match_ratings()


def test_ratings_of_users_and_movies_missing_from_the_file_are_left_alone(data):
    run_import("--path", str(data))
    set_ratings(data, "\n".join(line for line in RATINGS.splitlines() if not line.startswith("10,")) + "\n")

    out = run_import("--path", str(data))

    assert "3 users" in out and "ratings: 0 created, 0 updated" in out
    assert rating("ml10", 5).score == 1.0  # user 10 is not in the file any more: still there
    assert Rating.objects.count() == 8


def test_chunks_of_three_import_what_one_chunk_imports(data, monkeypatch):
    run_import("--path", str(data))
    whole = content()
    empty_tables()
    monkeypatch.setattr(ratings_file, "CHUNK_ROWS", 3)

    run_import("--path", str(data))

    assert content() == whole


def test_dry_run_validates_and_writes_nothing(data):
    out = run_import("--path", str(data), "--dry-run")
    assert "Dry run: ml-csv" in out and "4 users, 6 movies, 10 genres, 8 ratings are valid" in out
    assert (User.objects.count(), Movie.objects.count(), Genre.objects.count(), Rating.objects.count()) == (0, 0, 0, 0)


def test_optional_files_may_be_missing(tmp_path):
    out = run_import("--path", str(write_dataset(tmp_path / "ml-25m", extra=False)))
    assert "ratings: 8 created" in out and "note:" not in out


# (ratings.csv line appended after RATINGS (line 10) or replacing the header (line 1), expected message)
BAD_RATINGS = [
    ("1,3,4.25,964982703", "score 4.25 is not a whole or half star (0.5, 1.0, ... 5.0)"),
    ("1,3,6.0,964982703", "score 6.0 is outside 0.5-5.0"),
    ("1,3,0.0,964982703", "score 0.0 is outside 0.5-5.0"),
    ("1,3,-1,964982703", "score -1 is outside 0.5-5.0"),
    ("1,3,nan,964982703", "score nan is outside 0.5-5.0"),
    ("1,3,four,964982703", "score 'four' is not a number"),
    ("1,3,,964982703", "score '' is not a number"),
    ("1,99,4.0,964982703", "unknown movie id 99"),
    ("0,3,4.0,964982703", "user id 0 is not a positive whole number"),
    ("x,3,4.0,964982703", "user id 'x' is not a positive whole number"),
    ("1,3,4.0,-5", "timestamp -5 is not a valid unix time"),
    ("1,3,4.0,soon", "timestamp 'soon' is not a whole number"),
    ("1,3,4.0", "expected 4 fields separated by ',', found 3"),
    ('1,3,"4.0",964982703', "score '\"4.0\"' is not a number"),
    ("1,2,4.5,964982999", "duplicate rating for user 1 and movie 2"),
]


@pytest.mark.parametrize(("line", "message"), BAD_RATINGS)
def test_bad_ratings_line_names_file_and_line_and_writes_nothing(data, line, message):
    set_ratings(data, RATINGS + line + "\n")
    with pytest.raises(CommandError, match=re.escape(f"ratings.csv line 10: {message}")):
        run_import("--path", str(data))
    assert (User.objects.count(), Movie.objects.count(), Genre.objects.count(), Rating.objects.count()) == (0, 0, 0, 0)


def test_odd_but_valid_score_spellings_are_taken(data):
    set_ratings(data, RATINGS + "1,3,4.50,964982703\n1,4,3,964982704\n")
    assert "ratings: 10 created" in run_import("--path", str(data))
    assert (rating("ml1", 3).score, rating("ml1", 4).score) == (4.5, 3.0)


def test_a_bad_line_leaves_an_existing_database_unchanged(data):
    run_import("--path", str(data))
    before = snapshot()
    changed = RATINGS.replace("1,1,4.0,964982703", "1,1,2.5,964982703").replace("Toy", "Toy")
    set_ratings(data, changed + "10,1,3.5,1493850001\n" + "1,3,4.25,964982703\n")
    (data / "movies.csv").write_bytes(MOVIES.replace("Big Screen", "Bigger Screen").encode())

    with pytest.raises(CommandError, match=re.escape("ratings.csv line 11: score 4.25 is not a whole or half star")):
        run_import("--path", str(data))

    assert snapshot() == before


def test_a_duplicate_pair_in_a_later_chunk_is_named(data, monkeypatch):
    monkeypatch.setattr(ratings_file, "CHUNK_ROWS", 2)
    set_ratings(data, RATINGS + "3,4,1.0,1493848999\n")
    with pytest.raises(CommandError, match=re.escape("ratings.csv line 10: duplicate rating for user 3 and movie 4")):
        run_import("--path", str(data))
    assert Rating.objects.count() == 0


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("userId,movieId,score,timestamp", "header 'userId,movieId,score,timestamp' is not "),
        ("1,1,4.0,964982703", "header '1,1,4.0,964982703' is not 'userId,movieId,rating,timestamp'"),
        ("", "header '' is not "),
    ],
)
def test_wrong_ratings_header_is_refused_on_line_1(data, header, message):
    set_ratings(data, RATINGS.replace("userId,movieId,rating,timestamp", header, 1))
    with pytest.raises(CommandError, match=re.escape(f"ratings.csv line 1: {message}")):
        run_import("--path", str(data))
    assert Movie.objects.count() == 0


def test_an_empty_ratings_file_is_refused(data):
    set_ratings(data, "")
    with pytest.raises(CommandError, match=re.escape("ratings.csv line 1: the file is empty")):
        run_import("--path", str(data))


def test_windows_line_ends_and_a_byte_order_mark_are_read(data):
    set_ratings(data, "\ufeff" + RATINGS.replace("\n", "\r\n"))
    (data / "movies.csv").write_bytes(("\ufeff" + MOVIES.replace("\n", "\r\n")).encode())
    run_import("--path", str(data))
    assert Rating.objects.count() == 8
    assert Movie.objects.get(id=2).title == 'Dear "Friend", A (1999)'
    assert genres_of(7) == {"Film-Noir"}


def test_bad_utf8_in_ratings_is_named_with_its_line(data):
    (data / "ratings.csv").write_bytes(RATINGS.encode() + b"1,3,4.0,96498\xff2703\n")
    with pytest.raises(CommandError, match=re.escape("ratings.csv line 10: not valid UTF-8 (byte 0xff)")):
        run_import("--path", str(data))
    assert Movie.objects.count() == 0


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('8,"Unclosed (2000),Drama', "not valid CSV"),
        ('8,"Bad "quote" (2000)",Drama', "not valid CSV"),
        ("8,Two Fields (2000)", "expected 3 fields separated by ',', found 2"),
        ("8,A,B (2000),Drama", "expected 3 fields separated by ',', found 4"),  # a comma in an unquoted title
        ("x,Bad Id (2000),Drama", "movie id 'x' is not a positive whole number"),
        ("1,Same Id (2000),Drama", "duplicate movie id 1"),
        ("8,,Drama", "empty title"),
        ("8,Empty Genre (2000),Drama||Comedy", "genre '' must be 1-40 characters"),
    ],
)
def test_bad_movies_line_names_file_and_line(data, line, message):
    (data / "movies.csv").write_bytes((MOVIES + line + "\n").encode())
    with pytest.raises(CommandError, match=re.escape(f"movies.csv line 8: {message}")):
        run_import("--path", str(data))
    assert Movie.objects.count() == 0


def test_movies_lines_are_counted_as_in_the_file_across_a_quoted_line_break(data):
    movies = MOVIES + '8,"Two\nLines (2000)",Drama\n\n9,Bad Id Line,Drama|\n'
    (data / "movies.csv").write_bytes(movies.encode())
    with pytest.raises(CommandError, match=re.escape("movies.csv line 11: genre '' must be 1-40 characters")):
        run_import("--path", str(data))


def test_wrong_movies_header_and_bad_utf8_in_movies(data):
    (data / "movies.csv").write_bytes(MOVIES.replace("movieId,title,genres", "id,title,genres").encode())
    with pytest.raises(CommandError, match=re.escape("movies.csv line 1: header 'id,title,genres' is not")):
        run_import("--path", str(data))
    (data / "movies.csv").write_bytes(MOVIES.encode().replace("Amélie".encode(), b"Am\xe9lie"))  # Latin-1, not UTF-8
    with pytest.raises(CommandError, match=re.escape("movies.csv line 4: not valid UTF-8 (byte 0xe9)")):
        run_import("--path", str(data))


def test_the_command_prints_file_and_line_without_a_traceback(data, capsys, monkeypatch):
    set_ratings(data, RATINGS + "1,3,4.25,964982703\n")
    monkeypatch.setattr(connections, "close_all", lambda: None)  # run_from_argv closes them: the test still needs one
    with pytest.raises(SystemExit) as exited:
        execute_from_command_line(["manage.py", "import_movielens", "--path", str(data)])
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert "CommandError: ratings.csv line 10: score 4.25 is not a whole or half star" in err
    assert "Traceback" not in err
    assert Rating.objects.count() == 0


def test_read_all_gives_float_scores_and_the_users_found(data):
    dataset = source_open(data).parse()
    assert dataset.users == {}  # not known before ratings.csv is read
    ratings = dataset.ratings
    assert ratings[:2] == [(1, 1, 4.0, 964982703), (1, 2, 3.5, 964981247)]
    assert all(isinstance(score, float) for _, _, score, _ in ratings)
    assert sorted(dataset.users) == [1, 2, 3, 10]


@pytest.mark.parametrize("block", [1, 2, 3, 5, 7])
def test_utf8_characters_cut_by_a_block_boundary_decode_whole(block, monkeypatch):
    monkeypatch.setattr(ratings_file, "BLOCK_BYTES", block)
    text = "\ufeffAmélie\nCafé ☕ 🎬\n\nend"
    assert list(text_lines(io.BytesIO(text.encode()), "utf-8")) == ["Amélie", "Café ☕ 🎬", "", "end"]


@pytest.mark.parametrize("block", [1, 2, 3, 4, 64])
def test_bad_bytes_are_named_by_line_whatever_the_block_size(block, monkeypatch):
    monkeypatch.setattr(ratings_file, "BLOCK_BYTES", block)
    lines = text_lines(io.BytesIO("é1\nà2\n".encode() + b"ok \xc3(\nnext\n"), "utf-8")
    assert next(lines) == "é1" and next(lines) == "à2"
    with pytest.raises(BadBytes) as bad:
        next(lines)
    assert bad.value.line_no == 3
    lines = text_lines(io.BytesIO("é1\n".encode() + "€".encode()[:2]), "utf-8")  # cut at the end of the file
    assert next(lines) == "é1"
    with pytest.raises(BadBytes) as bad:
        next(lines)
    assert bad.value.line_no == 2


def test_a_ratings_file_read_one_byte_at_a_time_imports(data, monkeypatch):
    monkeypatch.setattr(ratings_file, "BLOCK_BYTES", 1)
    set_ratings(data, "\ufeff" + RATINGS)  # the 3-byte mark straddles three blocks
    assert "ratings: 8 created" in run_import("--path", str(data))


def test_setup_demo_picks_a_csv_user_without_demographics(tmp_path):
    movies = "movieId,title,genres\n" + "".join(f"{i},Film {i} (2000),Drama\n" for i in range(1, 31))
    ratings = "userId,movieId,rating,timestamp\n" + "".join(
        f"7,{i},{i % 10 / 2 + 0.5},{1000 + i}\n" for i in range(1, 26)
    )
    ratings += "8,1,3.0,5000\n"
    run_import("--path", str(write_dataset(tmp_path / "ml-latest-small", movies=movies, ratings=ratings)))

    accounts = demo_accounts_reset()

    username, password, count = accounts["user"]
    assert (username, count) == ("ml7", 25)
    assert User.objects.get(username="ml7").check_password(password)


def test_a_csv_import_keeps_the_demographics_another_layout_stored(data):
    from .conftest import ML1M

    run_import("--path", str(ML1M))
    before = Profile.objects.values_list("gender", "age", "occupation", "zip_code").get(movielens_id=1)
    assert before[0] in ("M", "F")
    run_import("--path", str(data))  # user 1 again, in a layout that has no demographics: nothing to say on them
    assert Profile.objects.values_list("gender", "age", "occupation", "zip_code").get(movielens_id=1) == before
    assert Profile.objects.values_list("gender", "age", "occupation", "zip_code").get(movielens_id=10) == (
        "",
        None,
        None,
        "",
    )  # a user only the CSV release has: missing is unknown, never a made-up value

"""import_movielens on bad input: every kind of bad line, all or nothing, missing data, no network."""

import hashlib
import http.server
import re
import threading
import zipfile
from functools import partial

import pytest
from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from movies.models import Genre, Movie, Profile, Rating

from .conftest import ML1M, append, rewrite, run_import
from .test_import_ml1m import snapshot

pytestmark = pytest.mark.django_db
User = get_user_model()

# (layout, file, appended line, expected message without the "file line N: " prefix)
BAD_LINES = [
    ("ml1m", "ratings.dat", "1::3::5", "expected 4 fields separated by '::', found 3"),
    ("ml1m", "ratings.dat", "1::3::5::978300760::9", "expected 4 fields separated by '::', found 5"),
    ("ml1m", "ratings.dat", "1::3::five::978300760", "score 'five' is not a whole number"),
    ("ml1m", "ratings.dat", "1::3::4.5::978300760", "score '4.5' is not a whole number"),
    ("ml1m", "ratings.dat", "1::3::6::978300760", "score 6 is outside 1-5"),
    ("ml1m", "ratings.dat", "1::3::0::978300760", "score 0 is outside 1-5"),
    ("ml1m", "ratings.dat", "99::3::4::978300760", "unknown user id 99"),
    ("ml1m", "ratings.dat", "1::99::4::978300760", "unknown movie id 99"),
    ("ml1m", "ratings.dat", "1::3::4::-1", "timestamp -1 is not a valid unix time"),
    ("ml1m", "ratings.dat", "1::1::4::978300999", "duplicate rating for user 1 and movie 1"),
    ("ml1m", "movies.dat", "6::Half a Line (1999)", "expected 3 fields separated by '::', found 2"),
    ("ml1m", "movies.dat", "x::Bad Id (1999)::Drama", "movie id 'x' is not a positive whole number"),
    ("ml1m", "movies.dat", "0::Zero Id (1999)::Drama", "movie id '0' is not a positive whole number"),
    ("ml1m", "movies.dat", "1::Same Id Again (1999)::Drama", "duplicate movie id 1"),
    ("ml1m", "movies.dat", "7::::Drama", "empty title"),
    ("ml1m", "movies.dat", f"7::{'Long' * 70} (1999)::Drama", "title is longer than 255 characters"),
    ("ml1m", "movies.dat", "7::Empty Genre (1999)::Drama||Comedy", "genre '' must be 1-40 characters"),
    ("ml1m", "users.dat", "5::M::25::12", "expected 5 fields separated by '::', found 4"),
    ("ml1m", "users.dat", "5::X::25::12::10001", "gender 'X' is not M or F"),
    ("ml1m", "users.dat", "5::M::30::12::10001", "age '30' is not one of 1, 18, 25, 35, 45, 50, 56"),
    ("ml1m", "users.dat", "5::M::25::21::10001", "occupation '21' is not one of 0, 1, 2"),
    ("ml1m", "users.dat", "5::M::25::12::12345678901234567", "zip code '12345678901234567' is longer than 16"),
    ("ml1m", "users.dat", "1::F::1::10::48067", "duplicate user id 1"),
    ("ml100k", "u.data", "1\t3\t5", "expected 4 fields separated by '\\t', found 3"),
    ("ml100k", "u.data", "1\t3\t7\t874965758", "score 7 is outside 1-5"),
    ("ml100k", "u.data", "1\t1\t4\t874965759", "duplicate rating for user 1 and movie 1"),
    ("ml100k", "u.user", "6|30|M|astronaut|12345", "unknown occupation 'astronaut'"),
    ("ml100k", "u.user", "6|0|M|writer|12345", "age '0' is not a whole number from 1 to 120"),
    ("ml100k", "u.user", "6|thirty|M|writer|12345", "age 'thirty' is not a whole number"),
    ("ml100k", "u.item", "5|Too Short (1990)|01-Jan-1990", "expected 24 fields separated by '|', found 3"),
    ("ml100k", "u.item", "5|Flags (1990)|01-Jan-1990||u" + "|2" * 19, "genre flags must be 0 or 1"),
    ("ml100k", "u.item", "5|Date (1990)|1990-01-01||u" + "|0" * 19, "release date '1990-01-01' is not like 01-Jan"),
]


@pytest.mark.parametrize(("layout", "file_name", "line", "message"), BAD_LINES)
def test_bad_line_names_file_and_line_and_writes_nothing(ml1m_dir, ml100k_dir, layout, file_name, line, message):
    folder = ml1m_dir if layout == "ml1m" else ml100k_dir
    line_no = append(folder / file_name, line)

    with pytest.raises(CommandError, match=re.escape(f"{file_name} line {line_no}: {message}")):
        run_import("--path", str(folder))

    assert (User.objects.count(), Movie.objects.count(), Genre.objects.count(), Rating.objects.count()) == (0, 0, 0, 0)


def test_bad_line_in_the_middle_is_reported_with_its_own_number(ml1m_dir):
    rewrite(ml1m_dir / "ratings.dat", "2::3::2::978299026", "2::3::9::978299026")
    with pytest.raises(CommandError, match=re.escape("ratings.dat line 4: score 9 is outside 1-5")):
        run_import("--path", str(ml1m_dir))


def test_bad_last_line_leaves_an_existing_database_unchanged(ml1m_dir):
    run_import("--path", str(ml1m_dir))
    before = snapshot()
    rewrite(ml1m_dir / "movies.dat", "Quiet Meridian (1972)", "Changed Title (1980)")
    rewrite(ml1m_dir / "users.dat", "2::M::56::16::70072", "2::F::50::16::70073")
    rewrite(ml1m_dir / "ratings.dat", "1::2::3::978302109", "1::2::4::978302109")
    line_no = append(ml1m_dir / "ratings.dat", "4::4::6::978824291")

    with pytest.raises(CommandError, match=f"ratings.dat line {line_no}: score 6 is outside 1-5"):
        run_import("--path", str(ml1m_dir))

    assert snapshot() == before


def test_failure_while_writing_rolls_everything_back():
    site_user = User.objects.create_user(username="ml4")  # a site account holding the name ml4 with a profile
    Profile.objects.create(user=site_user)
    with pytest.raises(CommandError, match="username ml4 already belongs to another account"):
        run_import("--path", str(ML1M))
    assert (Genre.objects.count(), Movie.objects.count(), Rating.objects.count(), User.objects.count()) == (0, 0, 0, 1)


def test_missing_path_and_folder_without_dataset(tmp_path):
    with pytest.raises(CommandError, match="does not exist"):
        run_import("--path", str(tmp_path / "nowhere"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(CommandError, match=re.escape("no MovieLens dataset found (expected movies.dat")):
        run_import("--path", str(tmp_path / "empty"))
    (tmp_path / "not.zip").write_bytes(b"plain text")
    with pytest.raises(CommandError, match="not a readable zip file"):
        run_import("--path", str(tmp_path / "not.zip"))


def test_no_network_says_how_to_use_a_local_copy(settings, tmp_path):
    settings.MOVIELENS_URL = "http://127.0.0.1:9/ml-1m.zip"  # discard port: nothing listens
    settings.MOVIELENS_PATH = ""
    settings.VAR_DIR = tmp_path

    with pytest.raises(CommandError) as error:
        run_import()

    message = str(error.value)
    assert "Could not download MovieLens 1M from http://127.0.0.1:9/ml-1m.zip" in message
    assert "--path /path/to/ml-1m" in message and "MOVIELENS_PATH" in message
    assert "Traceback" not in message
    assert list(tmp_path.iterdir()) == []  # no partial download left behind


@pytest.fixture
def served_zip(tmp_path):
    """Serve a zip of the ML-1M fixture over local HTTP; yield (url, md5)."""
    root = tmp_path / "www"
    root.mkdir()
    with zipfile.ZipFile(root / "ml-1m.zip", "w") as zipped:
        for path in ML1M.iterdir():
            zipped.write(path, f"ml-1m/{path.name}")
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/ml-1m.zip", hashlib.md5((root / "ml-1m.zip").read_bytes()).hexdigest()
    server.shutdown()
    server.server_close()


def test_download_verifies_md5_and_keeps_the_zip_under_var(settings, tmp_path, served_zip):
    settings.MOVIELENS_URL, settings.MOVIELENS_MD5 = served_zip
    settings.MOVIELENS_PATH = ""
    settings.VAR_DIR = tmp_path / "var"

    assert "ratings: 8 created" in run_import()
    assert (tmp_path / "var" / "ml-1m.zip").is_file()

    settings.MOVIELENS_URL = "http://127.0.0.1:9/ml-1m.zip"  # the verified copy is reused: no network needed
    assert "ratings: 0 created, 0 updated" in run_import()


def test_download_with_a_wrong_checksum_is_discarded(settings, tmp_path, served_zip):
    settings.MOVIELENS_URL, _ = served_zip
    settings.MOVIELENS_MD5 = "0" * 32
    settings.MOVIELENS_PATH = ""
    settings.VAR_DIR = tmp_path / "var"

    with pytest.raises(CommandError, match="does not match the expected"):
        run_import()
    assert list((tmp_path / "var").iterdir()) == []
    assert Movie.objects.count() == 0


def test_a_folder_missing_one_file_of_the_layout_says_what_is_expected(ml1m_dir):
    (ml1m_dir / "ratings.dat").unlink()
    expected = (
        "no MovieLens dataset found (expected movies.dat, users.dat, ratings.dat (ML-1M); or u.item, u.user, u.data "
        "(ML-100K); or movies.csv, ratings.csv (CSV releases: ml-latest-small, ml-25m, ml-32m))"
    )
    with pytest.raises(CommandError, match=re.escape(expected)):
        run_import("--path", str(ml1m_dir))

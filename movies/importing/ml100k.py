"""The MovieLens 100K layout (u.item, u.user, u.data, u.genre), mapped onto the ML-1M conventions."""

import re
from collections.abc import Callable
from typing import BinaryIO

from movies.movielens import GENRES, age_bucket

from .dataset import (
    Dataset,
    MovieLensImportError,
    MovieRecord,
    UserRecord,
    check_movie,
    check_user,
    line_error,
    numbered_lines,
    parse_id,
)
from .dataset import split_fields as fields_of
from .ml1m import year_from_title
from .ratings_file import RatingsFile

FILES = ("u.item", "u.user", "u.data")
LABEL = "ML-100K"
SKIPPED_GENRE = "unknown"  # a placeholder, not a genre: movies flagged only with it get no genre
DEFAULT_GENRES = [SKIPPED_GENRE, *GENRES]  # u.genre as GroupLens ships it; used when a dataset leaves the file out
RELEASE_DATE = re.compile(r"^\d{1,2}-[A-Za-z]{3}-(\d{4})$")  # 01-Jan-1995
MAX_AGE = 120

# 100K names its occupations; ML-1M numbers 21 of them (see Profile.Occupation). Each 100K name
# goes to the closest ML-1M code. "student" is split by age: ML-1M has both "K-12 student" (10)
# and "college/grad student" (4), and 100K's students include children.
OCCUPATION_CODES = {
    "administrator": 3,  # clerical/admin
    "artist": 2,  # artist
    "doctor": 6,  # doctor/health care
    "educator": 1,  # academic/educator
    "engineer": 17,  # technician/engineer
    "entertainment": 2,  # artist
    "executive": 7,  # executive/managerial
    "healthcare": 6,  # doctor/health care
    "homemaker": 9,  # homemaker
    "lawyer": 11,  # lawyer
    "librarian": 1,  # academic/educator
    "marketing": 14,  # sales/marketing
    "none": 0,  # other or not specified
    "other": 0,  # other or not specified
    "programmer": 12,  # programmer
    "retired": 13,  # retired
    "salesman": 14,  # sales/marketing
    "scientist": 15,  # scientist
    "student": 4,  # college/grad student (K-12 student, 10, under 18: see occupation_code)
    "technician": 17,  # technician/engineer
    "writer": 20,  # writer
}
K12_STUDENT = 10


def occupation_code(name: str, age: int) -> int | None:
    """The ML-1M code for a 100K occupation name (None when the name is unknown)."""
    code = OCCUPATION_CODES.get(name.strip().lower())
    if code == OCCUPATION_CODES["student"] and age < 18:
        return K12_STUDENT
    return code


def genres_parse(data: bytes | None, file_name: str = "u.genre") -> list[str]:
    """``name|index`` lines -> names in flag order."""
    if data is None:
        return list(DEFAULT_GENRES)
    by_index: dict[int, str] = {}
    for line_no, line in numbered_lines(data):
        name, index = fields_of(line, "|", 2, file_name, line_no)
        if not index.strip().isdigit() or int(index) in by_index:
            raise line_error(file_name, line_no, f"genre index {index!r} is not a new whole number")
        by_index[int(index)] = name.strip()
    if sorted(by_index) != list(range(len(by_index))):
        raise MovieLensImportError(f"{file_name}: genre indexes must run 0..{len(by_index) - 1} without gaps")
    return [by_index[i] for i in range(len(by_index))]


def movies_parse(data: bytes, genres: list[str], file_name: str = "u.item") -> dict[int, MovieRecord]:
    """``id|title|release date|video release date|IMDb URL|flag|flag|...`` (one 0/1 flag per genre)."""
    movies: dict[int, MovieRecord] = {}
    for line_no, line in numbered_lines(data):
        fields = fields_of(line, "|", 5 + len(genres), file_name, line_no)
        title, released, flags = fields[1].strip(), fields[2].strip(), fields[5:]
        if any(flag not in ("0", "1") for flag in flags):
            raise line_error(file_name, line_no, "genre flags must be 0 or 1")
        date = RELEASE_DATE.match(released)
        if released and not date:
            raise line_error(file_name, line_no, f"release date {released!r} is not like 01-Jan-1995")
        year = year_from_title(title) or (int(date.group(1)) if date else None)
        names = tuple(name for name, flag in zip(genres, flags, strict=True) if flag == "1" and name != SKIPPED_GENRE)
        movie = MovieRecord(parse_id(fields[0], "movie id", file_name, line_no), title, year, names)
        check_movie(movies, movie, file_name, line_no)
        movies[movie.id] = movie
    return movies


def users_parse(data: bytes, file_name: str = "u.user") -> dict[int, UserRecord]:
    """``id|age|gender|occupation|zip code`` with an exact age and an occupation name."""
    users: dict[int, UserRecord] = {}
    for line_no, line in numbered_lines(data):
        raw_id, raw_age, gender, occupation, zip_code = fields_of(line, "|", 5, file_name, line_no)
        if not raw_age.strip().isdigit() or not 1 <= int(raw_age) <= MAX_AGE:
            raise line_error(file_name, line_no, f"age {raw_age!r} is not a whole number from 1 to {MAX_AGE}")
        age = int(raw_age)
        code = occupation_code(occupation, age)
        if code is None:
            raise line_error(file_name, line_no, f"unknown occupation {occupation!r}")
        ml_id = parse_id(raw_id, "user id", file_name, line_no)
        user = UserRecord(ml_id, gender.strip(), age_bucket(age), code, zip_code.strip())
        check_user(users, user, file_name, line_no)
        users[user.id] = user
    return users


def dataset_parse(read: Callable[[str], bytes | None], open_file: Callable[[str], BinaryIO], source: str) -> Dataset:
    """Parse and validate u.genre (optional), u.item and u.user; u.data is read later, in chunks."""
    dataset = Dataset(layout="ml-100k", source=source)
    dataset.movies = movies_parse(read("u.item"), genres_parse(read("u.genre")))
    dataset.users = users_parse(read("u.user"))
    dataset.ratings_file = RatingsFile(
        open=lambda: open_file("u.data"),
        file_name="u.data",
        sep="\t",
        users=dataset.users,
        movies=dataset.movies,
    )
    return dataset

"""The MovieLens 1M layout: movies.dat, users.dat, ratings.dat, ``::``-separated Latin-1, whole stars 1-5."""

import re
from collections.abc import Callable
from typing import BinaryIO

from movies.movielens import AGE_BUCKETS

from .dataset import (
    Dataset,
    MovieRecord,
    UserRecord,
    check_movie,
    check_user,
    numbered_lines,
    parse_choice,
    parse_id,
    split_fields,
)
from .ratings_file import RatingsFile

SEP = "::"
FILES = ("movies.dat", "users.dat", "ratings.dat")
LABEL = "ML-1M"
OCCUPATIONS = frozenset(range(21))
YEAR_IN_TITLE = re.compile(r"\((\d{4})\)\s*$")


def year_from_title(title: str) -> int | None:
    """``"Misérables, Les (1995)"`` -> 1995; titles without a trailing ``(yyyy)`` have no year."""
    match = YEAR_IN_TITLE.search(title)
    return int(match.group(1)) if match else None


def movies_parse(data: bytes, file_name: str = "movies.dat") -> dict[int, MovieRecord]:
    """``MovieID::Title::Genre|Genre``."""
    movies: dict[int, MovieRecord] = {}
    for line_no, line in numbered_lines(data):
        raw_id, title, genres = split_fields(line, SEP, 3, file_name, line_no)
        title = title.strip()
        names = tuple(name.strip() for name in genres.split("|")) if genres.strip() else ()
        movie = MovieRecord(parse_id(raw_id, "movie id", file_name, line_no), title, year_from_title(title), names)
        check_movie(movies, movie, file_name, line_no)
        movies[movie.id] = movie
    return movies


def users_parse(data: bytes, file_name: str = "users.dat") -> dict[int, UserRecord]:
    """``UserID::Gender::Age::Occupation::Zip-code`` with ML-1M's age buckets and occupation codes."""
    users: dict[int, UserRecord] = {}
    for line_no, line in numbered_lines(data):
        raw_id, gender, age, occupation, zip_code = split_fields(line, SEP, 5, file_name, line_no)
        user = UserRecord(
            id=parse_id(raw_id, "user id", file_name, line_no),
            gender=gender.strip(),
            age=parse_choice(age, "age", AGE_BUCKETS, file_name, line_no),
            occupation=parse_choice(occupation, "occupation", OCCUPATIONS, file_name, line_no),
            zip_code=zip_code.strip(),
        )
        check_user(users, user, file_name, line_no)
        users[user.id] = user
    return users


def dataset_parse(read: Callable[[str], bytes], open_file: Callable[[str], BinaryIO], source: str) -> Dataset:
    """Parse and validate movies and users; ratings.dat is read later, in chunks, and checked against them."""
    dataset = Dataset(layout="ml-1m", source=source)
    dataset.movies = movies_parse(read("movies.dat"))
    dataset.users = users_parse(read("users.dat"))
    dataset.ratings_file = RatingsFile(
        open=lambda: open_file("ratings.dat"),
        file_name="ratings.dat",
        sep=SEP,
        users=dataset.users,
        movies=dataset.movies,
    )
    return dataset

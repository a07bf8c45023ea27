"""One shape for every MovieLens layout (ratings left in their file), the importer's error, line-level helpers."""

from __future__ import annotations

import codecs
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

ENCODING = "iso-8859-1"  # GroupLens ships the 1M and 100K layouts as Latin-1 bytes (the CSV releases as UTF-8)
MAX_ID = 2**31 - 1  # Movie.id and Profile.movielens_id are 32-bit integer columns
MAX_TIMESTAMP = 253402300799  # 9999-12-31 23:59:59 UTC, the last instant a datetime can hold
TITLE_MAX = 255
GENRE_MAX = 40
ZIP_MAX = 16


class MovieLensImportError(Exception):
    """Bad input or an unreachable source; the message is written for the person running the import."""


def line_error(file_name: str, line_no: int, message: str) -> MovieLensImportError:
    """The one error format for bad input: ``ratings.dat line 17: score 6 is outside 1-5``."""
    return MovieLensImportError(f"{file_name} line {line_no}: {message}")


@dataclass(frozen=True, slots=True)
class MovieRecord:
    id: int
    title: str
    year: int | None
    genres: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class UserRecord:
    """A MovieLens user; a layout without demographics (the CSV releases) leaves them unknown: blank or None."""

    id: int
    gender: str = ""  # "M", "F" or "" (unknown)
    age: int | None = None  # ML-1M age bucket: 1, 18, 25, 35, 45, 50, 56
    occupation: int | None = None  # ML-1M occupation code 0-20
    zip_code: str = ""


class RatingsSource(Protocol):
    """What a Dataset needs of its ratings file (ratings_file.RatingsFile is the one kind; it imports this module,
    so the type is named here by its shape and the two modules form no import circle)."""

    file_name: str

    def chunks(self, *, size: int | None = None, on_progress: Callable[[int], None] | None = None) -> Iterator[list]:
        """Lists of valid rows in file order."""

    def read_all(self) -> list[tuple[int, int, float, int]]: ...


@dataclass
class Dataset:
    """Validated movies and users; the ratings stay in their file, read chunk by chunk (ratings_file.chunks()).

    The CSV layout has no users file: its users are the ids found in ratings.csv, put in ``users`` once the
    ratings file was read to its end."""

    layout: str  # "ml-1m", "ml-100k" or "ml-csv"
    source: str  # where it was read from, for messages
    movies: dict[int, MovieRecord] = field(default_factory=dict)
    users: dict[int, UserRecord] = field(default_factory=dict)
    ratings_file: RatingsSource | None = None
    notes: list[str] = field(default_factory=list)  # what was read but not imported (logged), e.g. tags.csv

    @property
    def genre_names(self) -> list[str]:
        return sorted({name for movie in self.movies.values() for name in movie.genres})

    @property
    def ratings(self) -> list[tuple[int, int, float, int]]:
        """Every rating as (MovieLens user id, movie id, score, unix timestamp), read and validated into memory now
        (for small datasets: the benchmarks; the import streams instead). Scores are floats (half stars kept)."""
        return self.ratings_file.read_all() if self.ratings_file is not None else []


def numbered_lines(data: bytes) -> Iterator[tuple[int, str]]:
    """Yield (1-based line number, text) for every non-blank line, decoded as Latin-1."""
    for line_no, line in enumerate(data.decode(ENCODING).split("\n"), 1):
        line = line.rstrip("\r")
        if line.strip():
            yield line_no, line


def utf8_error(file_name: str, line_no: int, exc: UnicodeDecodeError) -> MovieLensImportError:
    byte = exc.object[exc.start]
    return line_error(file_name, line_no, f"not valid UTF-8 (byte 0x{byte:02x})")


def utf8_decode(data: bytes, file_name: str) -> str:
    """A whole UTF-8 file as text (a leading byte order mark dropped); bad bytes raise naming their line."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise utf8_error(file_name, data.count(b"\n", 0, exc.start) + 1, exc) from None


def split_fields(line: str, sep: str, count: int, file_name: str, line_no: int) -> list[str]:
    """Split a line into exactly ``count`` fields or raise a line error saying what was found."""
    fields = line.split(sep)
    if len(fields) != count:
        raise line_error(file_name, line_no, f"expected {count} fields separated by {sep!r}, found {len(fields)}")
    return fields


def parse_id(value: str, what: str, file_name: str, line_no: int) -> int:
    """A positive 32-bit id (movie or user)."""
    value = value.strip()
    if not value.isdigit() or not 1 <= int(value) <= MAX_ID:
        raise line_error(file_name, line_no, f"{what} {value!r} is not a positive whole number")
    return int(value)


def parse_choice(value: str, what: str, allowed, file_name: str, line_no: int) -> int:
    """A whole number that must be one of ``allowed``."""
    value = value.strip()
    if not value.isdigit() or int(value) not in allowed:
        shown = ", ".join(str(choice) for choice in sorted(allowed))
        raise line_error(file_name, line_no, f"{what} {value!r} is not one of {shown}")
    return int(value)


def check_movie(movies: dict[int, MovieRecord], movie: MovieRecord, file_name: str, line_no: int) -> None:
    """Title and genre lengths fit the columns; a movie id appears once."""
    if not movie.title:
        raise line_error(file_name, line_no, "empty title")
    if len(movie.title) > TITLE_MAX:
        raise line_error(file_name, line_no, f"title is longer than {TITLE_MAX} characters")
    for name in movie.genres:
        if not name or len(name) > GENRE_MAX:
            raise line_error(file_name, line_no, f"genre {name!r} must be 1-{GENRE_MAX} characters")
    if movie.id in movies:
        raise line_error(file_name, line_no, f"duplicate movie id {movie.id}")


def check_user(users: dict[int, UserRecord], user: UserRecord, file_name: str, line_no: int) -> None:
    """Gender is M or F, the zip code fits its column, a user id appears once."""
    if user.gender not in ("M", "F"):  # a users file gives every gender; only the CSV layout (no file) has none
        raise line_error(file_name, line_no, f"gender {user.gender!r} is not M or F")
    if len(user.zip_code) > ZIP_MAX:
        raise line_error(file_name, line_no, f"zip code {user.zip_code!r} is longer than {ZIP_MAX} characters")
    if user.id in users:
        raise line_error(file_name, line_no, f"duplicate user id {user.id}")

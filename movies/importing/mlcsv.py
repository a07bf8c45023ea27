"""The CSV layout of today's MovieLens releases (ml-latest-small, ml-latest, ml-25m, ml-32m): UTF-8 files with a
header line, ``movies.csv`` (titles quoted where they hold commas or quotes), ``ratings.csv`` in half stars and no
users file (the users are the ids found in ratings.csv, without demographics). ``tags.csv`` and ``links.csv`` are
optional and not imported."""

import csv
import io
from collections.abc import Callable
from typing import BinaryIO

from .dataset import Dataset, MovieRecord, check_movie, line_error, parse_id, utf8_decode
from .ml1m import year_from_title
from .ratings_file import RatingsFile, header_error

FILES = ("movies.csv", "ratings.csv")
LABEL = "CSV releases: ml-latest-small, ml-25m, ml-32m"
MOVIES_HEADER = "movieId,title,genres"
RATINGS_HEADER = "userId,movieId,rating,timestamp"
NO_GENRES = "(no genres listed)"  # a marker, not a genre: the movie has none
SKIPPED = {  # optional files read by nothing: why, for the log
    "tags.csv": "tags.csv is not imported (the site has no tags)",
    "links.csv": "links.csv is not imported (IMDb and TMDb ids are not stored)",
}


def movies_parse(data: bytes, file_name: str = "movies.csv") -> dict[int, MovieRecord]:
    """``movieId,title,genres`` under that header; a title is quoted when it holds a comma or a quote (``""``
    inside), genres are ``|``-separated, "(no genres listed)" for none. Lines are numbered as in the file (a
    quoted title running over lines counts each)."""
    text = utf8_decode(data, file_name)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    movies: dict[int, MovieRecord] = {}
    line_no = 1  # where the next record starts
    try:
        for fields in reader:
            if line_no == 1:
                error = header_error(",".join(fields), MOVIES_HEADER, file_name)
                if error is not None:
                    raise error
            elif fields and any(field.strip() for field in fields):
                movie = _movie_of(fields, file_name, line_no)
                check_movie(movies, movie, file_name, line_no)
                movies[movie.id] = movie
            line_no = reader.line_num + 1
    except csv.Error as exc:
        raise line_error(file_name, line_no, f"not valid CSV ({exc})") from None
    if reader.line_num == 0:
        raise line_error(file_name, 1, f"the file is empty; expected the header {MOVIES_HEADER!r}")
    return movies


def _movie_of(fields: list[str], file_name: str, line_no: int) -> MovieRecord:
    if len(fields) != 3:
        raise line_error(file_name, line_no, f"expected 3 fields separated by ',', found {len(fields)}")
    raw_id, title, genres = fields
    title = title.strip()
    names = tuple(name.strip() for name in genres.split("|")) if genres.strip() else ()
    if names == (NO_GENRES,):
        names = ()
    return MovieRecord(parse_id(raw_id, "movie id", file_name, line_no), title, year_from_title(title), names)


def dataset_parse(
    read: Callable[[str], bytes | None], open_file: Callable[[str], BinaryIO | None], source: str
) -> Dataset:
    """Parse and validate movies.csv; ratings.csv is read later, in chunks, and gives the users."""
    dataset = Dataset(layout="ml-csv", source=source)
    dataset.movies = movies_parse(read("movies.csv"))
    dataset.ratings_file = RatingsFile(
        open=lambda: open_file("ratings.csv"),
        file_name="ratings.csv",
        sep=",",
        users=None,
        movies=dataset.movies,
        csv_header=RATINGS_HEADER,
        found_users=dataset.users,
    )
    for name, note in SKIPPED.items():
        stream = open_file(name)  # only whether it is there: it is not read
        if stream is not None:
            stream.close()
            dataset.notes.append(note)
    return dataset

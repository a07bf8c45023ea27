"""Parse and validate a ratings file (``ratings.dat`` or ``u.data``) chunk by chunk: the one hot loop of the import.

The file is read in blocks and handed on in chunks of CHUNK_ROWS rows, so memory does not grow with the number of
ratings. Duplicate (user, movie) pairs span chunks: the database stage finds them (ratings_db.ratings_stage), or
RatingsFile.read_all for a dataset read into memory.
"""

from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from .dataset import ENCODING, MAX_TIMESTAMP, MovieLensImportError, line_error

PROGRESS_EVERY = 50_000
CHUNK_ROWS = 100_000  # ratings per chunk: what the import holds in memory at once (read at call time: tests lower it)
BLOCK_BYTES = 1 << 20  # bytes read at a time; Latin-1 is one byte a character, so a block never splits one

# (MovieLens user id, movie id, score, unix timestamp, 1-based line number)
Row = tuple[int, int, int, int, int]


@dataclass(frozen=True)
class RatingsFile:
    """A ratings file not read yet, and the user and movie ids its lines are checked against."""

    open: Callable[[], BinaryIO]
    file_name: str
    sep: str
    users: Collection[int]
    movies: Collection[int]

    def chunks(self, *, size: int | None = None, on_progress: Callable[[int], None] | None = None) -> Iterator[list]:
        """Lists of up to ``size`` (default CHUNK_ROWS) valid rows in file order; see ratings_chunks."""
        with self.open() as stream:
            yield from ratings_chunks(
                stream,
                file_name=self.file_name,
                sep=self.sep,
                users=self.users,
                movies=self.movies,
                size=size or CHUNK_ROWS,
                on_progress=on_progress,
            )

    def read_all(self) -> list[tuple[int, int, int, int]]:
        """Every rating in memory as (user id, movie id, score, timestamp), duplicates refused like the import does.

        For datasets that fit in memory (the ML-100K benchmarks); the import itself streams through chunks()."""
        ratings: list[tuple[int, int, int, int]] = []
        seen: set[int] = set()
        for rows in self.chunks():
            for user, movie, score, stamp, line_no in rows:
                key = (user << 32) | movie  # ids are validated to fit 31 bits, so the key is unique per pair
                if key in seen:
                    raise duplicate_error(self.file_name, line_no, user, movie)
                seen.add(key)
                ratings.append((user, movie, score, stamp))
        return ratings


def duplicate_error(file_name: str, line_no: int, user: int, movie: int) -> MovieLensImportError:
    return line_error(file_name, line_no, f"duplicate rating for user {user} and movie {movie}")


def text_lines(stream: BinaryIO) -> Iterator[str]:
    """The stream's lines, decoded, without their "\\n" (a last empty line is not yielded)."""
    tail = ""
    while block := stream.read(BLOCK_BYTES):
        lines = (tail + block.decode(ENCODING)).split("\n")
        tail = lines.pop()
        yield from lines
    if tail:
        yield tail


def ratings_chunks(
    stream: BinaryIO,
    *,
    file_name: str,
    sep: str,
    users: Collection[int],
    movies: Collection[int],
    size: int = CHUNK_ROWS,
    on_progress: Callable[[int], None] | None = None,
) -> Iterator[list[Row]]:
    """Yield lists of up to ``size`` valid rows in file order. A bad line raises naming file and line, after the
    rows before it were yielded: whoever checks duplicates sees those first, so the earliest bad line is named."""
    rows: list[Row] = []
    append = rows.append
    index = -1
    for index, line in enumerate(text_lines(stream)):
        try:
            # Fast path: a well-formed line; anything odd goes to the slow path that names the problem.
            user, movie, score, stamp = map(int, line.split(sep))
        except ValueError:
            if not line.strip():
                continue
            error = _explain(line.rstrip("\r"), sep, file_name, index + 1)
        else:
            if user in users and movie in movies and 1 <= score <= 5 and 0 <= stamp <= MAX_TIMESTAMP:
                append((user, movie, score, stamp, index + 1))
                if len(rows) >= size:
                    yield rows
                    rows = []
                    append = rows.append
                if on_progress is not None and index % PROGRESS_EVERY == 0:
                    on_progress(index + 1)
                continue
            error = _check(user, movie, score, stamp, users, movies, file_name, index + 1)
        if rows:
            yield rows
        raise error
    if rows:
        yield rows
    if on_progress is not None:
        on_progress(index + 1)


def _check(user, movie, score, stamp, users, movies, file_name, line_no) -> MovieLensImportError:
    """What is wrong with a line of four whole numbers."""
    if user not in users:
        return line_error(file_name, line_no, f"unknown user id {user}")
    if movie not in movies:
        return line_error(file_name, line_no, f"unknown movie id {movie}")
    if not 1 <= score <= 5:
        return line_error(file_name, line_no, f"score {score} is outside 1-5")
    return line_error(file_name, line_no, f"timestamp {stamp} is not a valid unix time")


def _explain(line: str, sep: str, file_name: str, line_no: int) -> MovieLensImportError:
    """Why a ratings line did not parse as four whole numbers."""
    fields = line.split(sep)
    if len(fields) != 4:
        return line_error(file_name, line_no, f"expected 4 fields separated by {sep!r}, found {len(fields)}")
    names = ("user id", "movie id", "score", "timestamp")
    for name, value in zip(names, fields, strict=True):
        try:
            int(value)
        except ValueError:
            return line_error(file_name, line_no, f"{name} {value!r} is not a whole number")
    return line_error(file_name, line_no, "malformed line")

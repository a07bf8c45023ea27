"""Parse and validate a ratings file (``ratings.dat``, ``u.data`` or ``ratings.csv``) chunk by chunk: the one hot loop
of the import.

The file is read in blocks and handed on in chunks of CHUNK_ROWS rows, so memory does not grow with the number of
ratings. Duplicate (user, movie) pairs span chunks: the database stage finds them (ratings_db.ratings_stage), or
RatingsFile.read_all for a dataset read into memory.

The 1M and 100K layouts rate in whole stars 1-5 (Latin-1, no header); the CSV layout in half stars 0.5-5.0 (UTF-8,
a header on line 1, and no users file: any positive user id is taken, and the ids found are the dataset's users).
"""

import codecs
import math
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from operator import itemgetter
from typing import BinaryIO

from movies.movielens import SCORE_MAX, SCORE_MIN, SCORE_STEP, SCORES

from .dataset import ENCODING, MAX_ID, MAX_TIMESTAMP, MovieLensImportError, UserRecord, line_error, utf8_error

PROGRESS_EVERY = 50_000
CHUNK_ROWS = 100_000  # ratings per chunk: what the import holds in memory at once (read at call time: tests lower it)
BLOCK_BYTES = 1 << 20  # bytes read at a time (read at call time: tests lower it)
CSV_ENCODING = "utf-8"

# (MovieLens user id, movie id, score, unix timestamp, 1-based line number); the score is an int for the
# whole-star layouts and a float for the CSV layout (either way the value given, stored as a float).
Row = tuple[int, int, float, int, int]

# The spellings of a valid CSV score the hot loop knows ("3.5", "4.0", and "4" too); any other goes to the slow path.
SCORE_TEXT = {f"{score:.1f}": score for score in SCORES} | {
    str(int(score)): score for score in SCORES if score.is_integer()
}


@dataclass(frozen=True)
class RatingsFile:
    """A ratings file not read yet, and the user and movie ids its lines are checked against.

    ``csv_header`` set means the CSV layout: UTF-8, that header on line 1, ``,``-separated, half-star scores, no
    users file (``users`` is None: any positive id is a user) and ``found_users`` (a dict) is filled, sorted by id,
    with a UserRecord without demographics per user id found once the file was read to its end."""

    open: Callable[[], BinaryIO]
    file_name: str
    sep: str
    users: Collection[int] | None
    movies: Collection[int]
    csv_header: str | None = None
    found_users: dict[int, UserRecord] | None = None

    def chunks(self, *, size: int | None = None, on_progress: Callable[[int], None] | None = None) -> Iterator[list]:
        """Lists of up to ``size`` (default CHUNK_ROWS) valid rows in file order; see ratings_chunks."""
        with self.open() as stream:
            if self.csv_header is None:
                yield from ratings_chunks(
                    stream,
                    file_name=self.file_name,
                    sep=self.sep,
                    users=self.users,
                    movies=self.movies,
                    size=size or CHUNK_ROWS,
                    on_progress=on_progress,
                )
                return
            seen: set[int] = set()
            for rows in csv_ratings_chunks(
                stream,
                file_name=self.file_name,
                header=self.csv_header,
                movies=self.movies,
                size=size or CHUNK_ROWS,
                on_progress=on_progress,
            ):
                seen.update(map(itemgetter(0), rows))
                yield rows
            if self.found_users is not None:
                self.found_users.clear()
                self.found_users.update((user, UserRecord(user)) for user in sorted(seen))

    def read_all(self) -> list[tuple[int, int, float, int]]:
        """Every rating in memory as (user id, movie id, score, timestamp), duplicates refused like the import does;
        scores are floats (half stars kept).

        For datasets that fit in memory (the ML-100K benchmarks); the import itself streams through chunks()."""
        ratings: list[tuple[int, int, float, int]] = []
        seen: set[int] = set()
        for rows in self.chunks():
            for user, movie, score, stamp, line_no in rows:
                key = (user << 32) | movie  # ids are validated to fit 31 bits, so the key is unique per pair
                if key in seen:
                    raise duplicate_error(self.file_name, line_no, user, movie)
                seen.add(key)
                ratings.append((user, movie, float(score), stamp))
        return ratings


def duplicate_error(file_name: str, line_no: int, user: int, movie: int) -> MovieLensImportError:
    return line_error(file_name, line_no, f"duplicate rating for user {user} and movie {movie}")


class BadBytes(Exception):
    """Raised by text_lines where a block does not decode, once the lines before it were yielded."""

    def __init__(self, line_no: int, error: UnicodeDecodeError):
        super().__init__(line_no, error)
        self.line_no = line_no
        self.error = error


def text_lines(stream: BinaryIO, encoding: str = ENCODING) -> Iterator[str]:
    """The stream's lines, decoded, without their "\\n" (a last empty line is not yielded).

    Latin-1 is one byte a character: a block never splits one. Any other encoding (UTF-8) goes through an
    incremental decoder, which keeps a character cut by a block's end for the next block; bytes that do not decode
    raise BadBytes with their line number, after the lines before them. A leading byte order mark is dropped."""
    tail = ""
    if encoding == ENCODING:
        while block := stream.read(BLOCK_BYTES):
            lines = (tail + block.decode(ENCODING)).split("\n")
            tail = lines.pop()
            yield from lines
        if tail:
            yield tail
        return
    decoder = codecs.getincrementaldecoder(encoding)()
    done = 0  # lines yielded so far
    first = True
    while True:
        block = stream.read(BLOCK_BYTES)
        try:
            text = decoder.decode(block, final=not block)
        except UnicodeDecodeError as exc:
            # exc.object is what the decoder held over from the last block and this one; all before exc.start decodes
            lines = (tail + exc.object[: exc.start].decode(encoding)).split("\n")
            lines.pop()  # the bad line's start
            yield from lines
            raise BadBytes(done + len(lines) + 1, exc) from None
        if first and text:
            text = text.removeprefix("\ufeff")
            first = False
        lines = (tail + text).split("\n")
        tail = lines.pop()
        done += len(lines)
        yield from lines
        if not block:
            break
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


def csv_ratings_chunks(
    stream: BinaryIO,
    *,
    file_name: str,
    header: str,
    movies: Collection[int],
    size: int = CHUNK_ROWS,
    on_progress: Callable[[int], None] | None = None,
) -> Iterator[list[Row]]:
    """ratings_chunks for ``ratings.csv`` (``userId,movieId,rating,timestamp`` on line 1, then e.g.
    ``1,296,5.0,1147880044``): any positive user id, a known movie id, a score in half stars 0.5-5.0.

    Ratings lines are never quoted: a plain split on "," is the fast path, the slow path explains a bad line (or
    takes an odd but valid score such as "4.50")."""
    rows: list[Row] = []
    append = rows.append
    line_no = 1
    lines = enumerate(text_lines(stream, CSV_ENCODING), 1)
    try:
        first = next(lines, None)
        if first is None:
            raise line_error(file_name, 1, f"the file is empty; expected the header {header!r}")
        error = header_error(first[1], header, file_name)
        if error is not None:
            raise error
        for line_no, line in lines:
            try:
                # Fast path: a well-formed line; anything odd goes to the slow path that names the problem.
                raw_user, raw_movie, raw_score, raw_stamp = line.split(",")
                user, movie, score, stamp = int(raw_user), int(raw_movie), SCORE_TEXT[raw_score], int(raw_stamp)
            except (ValueError, KeyError):
                if not line.strip():
                    continue
                parsed = _csv_slow(line.rstrip("\r"), file_name, line_no)
                if isinstance(parsed, MovieLensImportError):
                    if rows:
                        yield rows
                    raise parsed from None
                user, movie, score, stamp = parsed
            if 0 < user <= MAX_ID and movie in movies and 0 <= stamp <= MAX_TIMESTAMP:
                append((user, movie, score, stamp, line_no))
                if len(rows) >= size:
                    yield rows
                    rows = []
                    append = rows.append
                if on_progress is not None and line_no % PROGRESS_EVERY == 0:
                    on_progress(line_no)
                continue
            if rows:
                yield rows
            raise _csv_check(user, movie, stamp, movies, file_name, line_no)
    except BadBytes as bad:
        if rows:
            yield rows
        raise utf8_error(file_name, bad.line_no, bad.error) from None
    if rows:
        yield rows
    if on_progress is not None:
        on_progress(line_no)


def header_error(line: str, header: str, file_name: str) -> MovieLensImportError | None:
    """None if ``line`` (line 1) is the expected CSV header, else the error naming both."""
    found = line.rstrip("\r\n").removeprefix("\ufeff")
    if [name.strip() for name in found.split(",")] == header.split(","):
        return None
    return line_error(file_name, 1, f"header {found!r} is not {header!r}")


def score_parse(value: str) -> float | str:
    """A half-star score from its text, or why it is not one."""
    try:
        score = float(value)
    except ValueError:
        return f"score {value.strip()!r} is not a number"
    if not (math.isfinite(score) and SCORE_MIN <= score <= SCORE_MAX):
        return f"score {value.strip()} is outside {SCORE_MIN}-{SCORE_MAX}"
    if score not in SCORES:
        halves = f"{SCORE_MIN}, {SCORE_MIN + SCORE_STEP}, ... {SCORE_MAX}"
        return f"score {value.strip()} is not a whole or half star ({halves})"
    return score


def _csv_slow(line: str, file_name: str, line_no: int) -> tuple[int, int, float, int] | MovieLensImportError:
    """A ratings.csv line the fast path did not take: its values if valid after all, else what is wrong."""
    fields = line.split(",")
    if len(fields) != 4:
        return line_error(file_name, line_no, f"expected 4 fields separated by ',', found {len(fields)}")
    values = []
    for name, value in zip(("user id", "movie id"), fields, strict=False):
        if not value.strip().isdigit():
            return line_error(file_name, line_no, f"{name} {value.strip()!r} is not a positive whole number")
        values.append(int(value))
    score = score_parse(fields[2])
    if isinstance(score, str):
        return line_error(file_name, line_no, score)
    stamp = fields[3].strip()
    if not stamp.lstrip("-").isdigit():
        return line_error(file_name, line_no, f"timestamp {stamp!r} is not a whole number")
    return values[0], values[1], score, int(stamp)


def _csv_check(user, movie, stamp, movies, file_name, line_no) -> MovieLensImportError:
    """What is wrong with a ratings.csv line of valid numbers."""
    if not 0 < user <= MAX_ID:
        return line_error(file_name, line_no, f"user id {user} is not a positive whole number")
    if movie not in movies:
        return line_error(file_name, line_no, f"unknown movie id {movie}")
    return line_error(file_name, line_no, f"timestamp {stamp} is not a valid unix time")

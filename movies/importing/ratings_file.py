"""Parse and validate a ratings file (``ratings.dat`` or ``u.data``): the one hot loop of the import."""

from collections.abc import Callable

from .dataset import ENCODING, MAX_TIMESTAMP, MovieLensImportError, line_error

PROGRESS_EVERY = 50_000


def ratings_parse(
    data: bytes,
    *,
    file_name: str,
    sep: str,
    users: dict,
    movies: dict,
    on_progress: Callable[[int], None] | None = None,
) -> list[tuple[int, int, int, int]]:
    """Return (user id, movie id, score, timestamp) tuples; any bad line raises naming file and line."""
    ratings: list[tuple[int, int, int, int]] = []
    append = ratings.append
    seen: set[int] = set()
    lines = data.decode(ENCODING).split("\n")
    for index, line in enumerate(lines):
        fields = line.split(sep)
        try:
            # Fast path: a well-formed line; anything odd goes to the slow path that names the problem.
            user, movie, score, stamp = map(int, fields)
        except ValueError:
            if not line.strip():
                continue
            raise _explain(line.rstrip("\r"), sep, file_name, index + 1) from None
        if user not in users:
            raise line_error(file_name, index + 1, f"unknown user id {user}")
        if movie not in movies:
            raise line_error(file_name, index + 1, f"unknown movie id {movie}")
        if not 1 <= score <= 5:
            raise line_error(file_name, index + 1, f"score {score} is outside 1-5")
        if not 0 <= stamp <= MAX_TIMESTAMP:
            raise line_error(file_name, index + 1, f"timestamp {stamp} is not a valid unix time")
        key = (user << 32) | movie  # ids are validated to fit 31 bits, so the key is unique per pair
        if key in seen:
            raise line_error(file_name, index + 1, f"duplicate rating for user {user} and movie {movie}")
        seen.add(key)
        append((user, movie, score, stamp))
        if on_progress is not None and index % PROGRESS_EVERY == 0:
            on_progress(index + 1)
    if on_progress is not None:
        on_progress(len(lines))
    return ratings


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

"""movielens_import: locate (or download) the data, validate all of it, then write it in one transaction.

The ratings are streamed: read in chunks into a temporary stage table (validated on the way), then upserted from
there in the one transaction; memory does not grow with their number."""

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import F
from tqdm import tqdm

from movies.models import Profile
from movies.selectors import genre_names_forget

from .dataset import Dataset
from .download import movielens_download
from .ratings_db import bulk_session, movie_counters_recompute, ratings_stage, ratings_write, stage_drop
from .sources import source_open
from .writers import Counts, genres_write, movies_write, users_write


@dataclass
class ImportSummary:
    """What an import read and what it changed (created / updated per kind)."""

    layout: str
    source: str
    dry_run: bool
    users: int
    movies: int
    genres: int
    ratings: int
    changes: dict[str, Counts] = field(default_factory=dict)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)  # files read past, e.g. "tags.csv is not imported (...)"

    def report(self) -> str:
        read = (
            f"{self.layout} from {self.source}: {self.users} users, {self.movies} movies, "
            f"{self.genres} genres, {self.ratings} ratings"
        )
        notes = [f"  note: {note}" for note in self.notes]
        if self.dry_run:
            return "\n".join([f"Dry run: {read} are valid; nothing was written ({self.seconds:.1f} s).", *notes])
        lines = [f"Imported {read} in {self.seconds:.1f} s."]
        for kind, counts in self.changes.items():
            lines.append(f"  {kind}: {counts.created} created, {counts.updated} updated")
        return "\n".join([*lines, *notes])


def movielens_location(*, path: str | Path | None, progress: bool) -> Path:
    """--path, else settings.MOVIELENS_PATH, else the verified ml-1m.zip under VAR_DIR (downloaded once)."""
    if path:
        return Path(path)
    if settings.MOVIELENS_PATH:
        return Path(settings.MOVIELENS_PATH)
    return movielens_download(
        url=settings.MOVIELENS_URL, md5=settings.MOVIELENS_MD5, dest_dir=Path(settings.VAR_DIR), progress=progress
    )


def _bar(progress: bool, desc: str, total: int | None, unit: str = "rating") -> tqdm:
    # disable=None: tqdm switches itself off when stderr is not a terminal (CI logs, tests).
    return tqdm(total=total, desc=desc, unit=unit, unit_scale=True, file=sys.stderr, disable=None if progress else True)


def _stage(dataset: Dataset, progress: bool) -> int:
    """Validate every rating line into the stage table; return how many there are."""
    with _bar(progress, "validate", None) as bar:

        def advance_to(staged: int) -> None:
            bar.update(staged - bar.n)

        return ratings_stage(
            dataset.ratings_file.chunks(), file_name=dataset.ratings_file.file_name, on_progress=advance_to
        )


def movielens_import(
    *,
    path: str | Path | None = None,
    dry_run: bool = False,
    progress: bool = False,
    log: Callable[[str], None] = lambda _: None,
) -> ImportSummary:
    """Import a MovieLens dataset (1M, 100K or CSV layout); raises MovieLensImportError, leaving the database as it
    was, if bad.

    The ratings are validated into a temporary stage table (chunk by chunk, outside the import's transaction: the
    SQLite write lock is not held while the file is read); everything else is written in one transaction."""
    started = time.perf_counter()
    location = movielens_location(path=path, progress=progress)
    log(f"Reading {location}")
    dataset = source_open(location).parse()
    try:
        with bulk_session():
            staged = _stage(dataset, progress)
            summary = ImportSummary(  # users counted now: the CSV layout finds them in its ratings file
                layout=dataset.layout,
                source=dataset.source,
                dry_run=dry_run,
                users=len(dataset.users),
                movies=len(dataset.movies),
                genres=len(dataset.genre_names),
                ratings=staged,
                notes=dataset.notes,
            )
            log(f"Validated {summary.ratings} ratings in {time.perf_counter() - started:.1f} s")
            if not dry_run:
                summary.changes = _write(dataset, staged, log)
    finally:
        stage_drop()
    if not dry_run:
        transaction.on_commit(genre_names_forget)  # the cached genre list may have changed
    summary.seconds = time.perf_counter() - started
    return summary


@transaction.atomic
def _write(dataset: Dataset, staged: int, log: Callable[[str], None]) -> dict[str, Counts]:
    """All writes in one transaction: an error anywhere leaves the database as it was."""
    started = time.perf_counter()
    genre_ids, genres = genres_write(dataset.genre_names)
    users = users_write(dataset.users)
    movies = movies_write(dataset.movies, genre_ids)
    log(f"Wrote genres, users and movies in {time.perf_counter() - started:.1f} s")
    ratings = ratings_write(staged)
    if ratings.created or ratings.updated:  # whose suggestions changed is not tracked: every user's recompute
        Profile.objects.update(feed_version=F("feed_version") + 1)
    log(f"Wrote ratings at {time.perf_counter() - started:.1f} s")
    movie_counters_recompute()
    log(f"Recomputed movie counters at {time.perf_counter() - started:.1f} s; committing")
    return {"users": users, "movies": movies, "genres": genres, "ratings": ratings}

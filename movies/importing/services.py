"""movielens_import: locate (or download) the data, validate all of it, then write it in one transaction."""

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import transaction
from tqdm import tqdm

from movies.selectors import genre_names_forget

from .dataset import Dataset
from .download import movielens_download
from .ratings_db import bulk_session, movie_counters_recompute, ratings_write
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

    def report(self) -> str:
        read = (
            f"{self.layout} from {self.source}: {self.users} users, {self.movies} movies, "
            f"{self.genres} genres, {self.ratings} ratings"
        )
        if self.dry_run:
            return f"Dry run: {read} are valid; nothing was written ({self.seconds:.1f} s)."
        lines = [f"Imported {read} in {self.seconds:.1f} s."]
        for kind, counts in self.changes.items():
            lines.append(f"  {kind}: {counts.created} created, {counts.updated} updated")
        return "\n".join(lines)


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


def _parse(location: Path, progress: bool) -> Dataset:
    source = source_open(location)
    with _bar(progress, "validate", None, unit="line") as bar:

        def advance_to(line_no: int) -> None:
            bar.update(line_no - bar.n)

        return source.parse(on_progress=advance_to)


def movielens_import(
    *,
    path: str | Path | None = None,
    dry_run: bool = False,
    progress: bool = False,
    log: Callable[[str], None] = lambda _: None,
) -> ImportSummary:
    """Import a MovieLens 1M or 100K dataset; raises MovieLensImportError before writing anything if bad."""
    started = time.perf_counter()
    location = movielens_location(path=path, progress=progress)
    log(f"Reading {location}")
    dataset = _parse(location, progress)
    summary = ImportSummary(
        layout=dataset.layout,
        source=dataset.source,
        dry_run=dry_run,
        users=len(dataset.users),
        movies=len(dataset.movies),
        genres=len(dataset.genre_names),
        ratings=len(dataset.ratings),
    )
    log(f"Validated {summary.ratings} ratings in {time.perf_counter() - started:.1f} s")
    if not dry_run:
        with bulk_session():
            summary.changes = _write(dataset, progress, log)
        transaction.on_commit(genre_names_forget)  # the cached genre list may have changed
    summary.seconds = time.perf_counter() - started
    return summary


@transaction.atomic
def _write(dataset: Dataset, progress: bool, log: Callable[[str], None]) -> dict[str, Counts]:
    """All writes in one transaction: an error anywhere leaves the database as it was."""
    started = time.perf_counter()
    genre_ids, genres = genres_write(dataset.genre_names)
    users = users_write(dataset.users)
    movies = movies_write(dataset.movies, genre_ids)
    log(f"Wrote genres, users and movies in {time.perf_counter() - started:.1f} s")
    with _bar(progress, "write", len(dataset.ratings)) as bar:
        ratings = ratings_write(dataset.ratings, on_progress=bar.update)
    log(f"Wrote ratings at {time.perf_counter() - started:.1f} s")
    movie_counters_recompute()
    log(f"Recomputed movie counters at {time.perf_counter() - started:.1f} s; committing")
    return {"users": users, "movies": movies, "genres": genres, "ratings": ratings}

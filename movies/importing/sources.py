"""Find a MovieLens dataset in a folder or a zip, tell its layout (1M, 100K or CSV), read its files."""

import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from . import ml1m, ml100k, mlcsv
from .dataset import Dataset, MovieLensImportError

LAYOUTS = {"ml-1m": ml1m, "ml-100k": ml100k, "ml-csv": mlcsv}


@dataclass(frozen=True)
class Source:
    """A located dataset: its layout, a reader from file name to bytes (None if the file is absent) and an opener
    (a binary stream, for the ratings file read in chunks; None if the file is absent).

    The layout module is handed both, raising "missing" for a file of its FILES and None for an optional one."""

    layout: str
    label: str
    read: Callable[[str], bytes | None]
    open: Callable[[str], BinaryIO | None]

    def parse(self) -> Dataset:
        """Movies and users parsed and validated; the ratings file is read when its chunks are asked for."""
        return LAYOUTS[self.layout].dataset_parse(self._read_required, self._open_required, self.label)

    def _open_required(self, name: str) -> BinaryIO | None:
        stream = self.open(name)
        if stream is None and name in LAYOUTS[self.layout].FILES:
            raise MovieLensImportError(f"{self.label}: {name} is missing")
        return stream

    def _read_required(self, name: str) -> bytes | None:
        data = self.read(name)
        if data is None and name in LAYOUTS[self.layout].FILES:
            raise MovieLensImportError(f"{self.label}: {name} is missing")
        return data


def _layout_of(names: set[str]) -> str | None:
    for layout, module in LAYOUTS.items():
        if set(module.FILES) <= names:
            return layout
    return None


def _not_found(path: Path) -> MovieLensImportError:
    wanted = "; or ".join(f"{', '.join(module.FILES)} ({module.LABEL})" for module in LAYOUTS.values())
    return MovieLensImportError(f"{path}: no MovieLens dataset found (expected {wanted})")


def _folder_source(path: Path) -> Source:
    """The folder itself, or else one folder below it (an extracted zip keeps its ml-1m/ folder)."""
    for folder in [path, *sorted(child for child in path.iterdir() if child.is_dir())]:
        names = {child.name for child in folder.iterdir() if child.is_file()}
        layout = _layout_of(names)
        if layout:
            return Source(
                layout,
                str(folder),
                lambda name, folder=folder: _read_file(folder / name),
                lambda name, folder=folder: _open_file(folder / name),
            )
    raise _not_found(path)


def _read_file(path: Path) -> bytes | None:
    return path.read_bytes() if path.is_file() else None


def _open_file(path: Path) -> BinaryIO | None:
    return open(path, "rb") if path.is_file() else None  # noqa: SIM115 (the caller closes it)


def _zip_source(path: Path) -> Source:
    """The first folder inside the zip (shallowest first) that holds a whole layout."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise MovieLensImportError(f"{path}: not a readable zip file ({exc})") from None
    folders: dict[str, set[str]] = {}
    for member in archive.namelist():
        member_path = PurePosixPath(member)
        folders.setdefault(str(member_path.parent), set()).add(member_path.name)
    for folder in sorted(folders, key=lambda folder: (folder.count("/"), folder)):
        layout = _layout_of(folders[folder])
        if layout:
            prefix = "" if folder == "." else folder + "/"
            return Source(
                layout,
                f"{path}:{prefix}",
                lambda name, prefix=prefix: _read_member(archive, prefix + name),
                lambda name, prefix=prefix: _open_member(archive, prefix + name),
            )
    raise _not_found(path)


def _read_member(archive: zipfile.ZipFile, name: str) -> bytes | None:
    try:
        return archive.read(name)
    except KeyError:
        return None


def _open_member(archive: zipfile.ZipFile, name: str) -> BinaryIO | None:
    try:
        return archive.open(name)
    except KeyError:
        return None


def source_open(path: Path) -> Source:
    """Locate a dataset at ``path`` (an extracted folder or a zip, any layout)."""
    if path.is_dir():
        return _folder_source(path)
    if path.is_file():
        return _zip_source(path)
    raise MovieLensImportError(f"{path} does not exist (give an extracted MovieLens folder or its zip)")

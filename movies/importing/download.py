"""Download ml-1m.zip from GroupLens into var/ with a progress bar and check its MD5."""

import hashlib
import sys
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

from tqdm import tqdm

from .dataset import MovieLensImportError

CHUNK = 1 << 20
TIMEOUT_S = 30


def no_network_message(url: str, reason: object) -> str:
    """What to do when the download fails: point the importer at a local copy."""
    return (
        f"Could not download MovieLens 1M from {url} ({reason}).\n"
        "Without internet access, point the importer at a local copy of the data (the extracted folder or the zip; "
        "the 100K layout and the CSV layout of ml-latest-small, ml-25m and ml-32m work too):\n"
        "  python manage.py import_movielens --path /path/to/ml-1m\n"
        "or set the environment variable MOVIELENS_PATH=/path/to/ml-1m.zip (e.g. MOVIELENS_PATH=... make run)."
    )


def file_md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def movielens_download(*, url: str, md5: str, dest_dir: Path, progress: bool = False) -> Path:
    """Return the local zip, downloading it first unless a copy with the right checksum is already there."""
    target = Path(dest_dir) / (Path(urlparse(url).path).name or "ml-1m.zip")
    if target.is_file() and (not md5 or file_md5(target) == md5):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    try:
        digest = _fetch(url, partial, progress)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        partial.unlink(missing_ok=True)
        raise MovieLensImportError(no_network_message(url, getattr(exc, "reason", exc))) from None
    if md5 and digest != md5.lower():
        partial.unlink(missing_ok=True)
        raise MovieLensImportError(f"{url}: MD5 {digest} does not match the expected {md5}; the download was discarded")
    partial.replace(target)
    return target


def _fetch(url: str, partial: Path, progress: bool) -> str:
    """Stream ``url`` into ``partial``; return the MD5 of what was written."""
    digest = hashlib.md5(usedforsecurity=False)
    with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response, partial.open("wb") as out:
        total = int(response.headers.get("Content-Length") or 0) or None
        with tqdm(
            total=total, unit="B", unit_scale=True, desc="download", file=sys.stderr, disable=None if progress else True
        ) as bar:
            while chunk := response.read(CHUNK):
                out.write(chunk)
                digest.update(chunk)
                bar.update(len(chunk))
    return digest.hexdigest()

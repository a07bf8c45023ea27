"""Fixtures for the importer tests: the hand-written datasets in tests/fixtures and a runner."""

import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
ML1M = FIXTURES / "ml1m"
ML100K = FIXTURES / "ml100k"


def run_import(*args: str, **options) -> str:
    """call_command("import_movielens", ...) and return what it printed."""
    out = StringIO()
    call_command("import_movielens", *args, stdout=out, stderr=StringIO(), **options)
    return out.getvalue()


@pytest.fixture
def ml1m_dir(tmp_path: Path) -> Path:
    """A writable copy of the ML-1M fixture (tests edit its files)."""
    return Path(shutil.copytree(ML1M, tmp_path / "ml-1m"))


@pytest.fixture
def ml100k_dir(tmp_path: Path) -> Path:
    return Path(shutil.copytree(ML100K, tmp_path / "ml-100k"))


def rewrite(path: Path, old: str, new: str) -> None:
    """Replace text in a Latin-1 fixture file, keeping its encoding."""
    text = path.read_bytes().decode("iso-8859-1")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_bytes(text.replace(old, new).encode("iso-8859-1"))


def append(path: Path, line: str) -> int:
    """Append a line to a fixture file; return its 1-based line number."""
    data = path.read_bytes()
    path.write_bytes(data + line.encode("iso-8859-1") + b"\n")
    return data.count(b"\n") + 1

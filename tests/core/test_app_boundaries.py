"""App boundaries (#14), read from the source with ast so a lazy import inside a function counts as much as one
at the top of a module:

- ``core`` (errors, caches and limits, process supervision, library noise) imports no app of the project;
- nothing imports ``recsite`` (settings, URLs, wsgi, the Celery app: wiring only) but ``recsite`` itself;
- ``movies`` (catalogue, ratings, profiles, the importer) imports neither ``recommender`` nor an interface;
- ``recommender`` imports nothing from the two interfaces, ``api`` (the REST API) and ``web`` (the website),
  which sit on top of both apps;
- ``api`` and ``web`` do not import each other (what both need lives below them);
- ``recommender/ml/`` imports nothing from Django or the project: it reads arrays and files and returns arrays.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def module_name(path: Path, root: Path = ROOT) -> str:
    """movies/importing/services.py -> "movies.importing.services"; a package's __init__.py -> the package."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _relative_base(path: Path, level: int, root: Path) -> list[str]:
    """The package a ``from .`` (level 1), ``from ..`` (level 2)... import starts from."""
    package = module_name(path, root).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    return package[: max(0, len(package) - (level - 1))]


def imported_modules(path: Path, root: Path = ROOT) -> set[str]:
    """Every module ``path`` imports, as absolute dotted names: import statements anywhere in the file (relative
    ones resolved), and importlib.import_module / __import__ calls with a literal name."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _relative_base(path, node.level, root) if node.level else []
            if node.module:
                found.add(".".join([*base, node.module]))
            else:  # `from . import x`, `from ... import recommender`: the names are the modules
                found.update(".".join([*base, alias.name]) for alias in node.names)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                found.add(node.args[0].value)
    return found


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def boundary_violations(
    package_dir: Path, forbidden: list[str], allowed: tuple[str, ...] = (), root: Path = ROOT
) -> list[str]:
    """Each import of a forbidden package (or a module below it), not under an allowed one, as "file: module"."""
    files = sorted(p for p in package_dir.rglob("*.py") if "__pycache__" not in p.parts)
    assert files, f"no modules found under {package_dir}"  # a wrong path must not pass as "no violations"
    return [
        f"{path.relative_to(root)}: {module}"
        for path in files
        for module in sorted(imported_modules(path, root))
        if any(_within(module, bad) for bad in forbidden) and not any(_within(module, ok) for ok in allowed)
    ]


def test_core_imports_no_app_of_the_project():
    assert boundary_violations(ROOT / "core", ["movies", "recommender", "api", "web", "recsite"]) == []


@pytest.mark.parametrize("package", ["core", "movies", "recommender", "api", "web"])
def test_no_app_imports_the_wiring(package):
    assert boundary_violations(ROOT / package, ["recsite"]) == []


def test_movies_imports_neither_recommender_nor_an_interface():
    assert boundary_violations(ROOT / "movies", ["recommender", "api", "web"]) == []


def test_recommender_imports_neither_interface():
    assert boundary_violations(ROOT / "recommender", ["api", "web"]) == []


@pytest.mark.parametrize(("package", "other"), [("api", "web"), ("web", "api")])
def test_the_interfaces_do_not_import_each_other(package, other):
    assert boundary_violations(ROOT / package, [other]) == []


def test_recommender_ml_is_free_of_django_and_the_project():
    forbidden = ["django", "rest_framework", "celery", "movies", "web", "recsite", "recommender"]
    assert boundary_violations(ROOT / "recommender" / "ml", forbidden, allowed=("recommender.ml",)) == []


def test_the_guarded_packages_are_the_real_ones():
    """The scans above read the app packages themselves (a renamed folder would otherwise scan nothing)."""
    assert (ROOT / "movies" / "models.py").is_file() and (ROOT / "recommender" / "ml" / "__init__.py").is_file()
    assert (ROOT / "api" / "urls.py").is_file() and (ROOT / "web" / "urls.py").is_file()
    assert "movies.models" in imported_modules(ROOT / "movies" / "services.py")  # `from .models import ...`


@pytest.mark.parametrize(
    ("source", "where", "caught"),
    [
        ("from recommender.selectors import training_notice\n", "app/views.py", "recommender.selectors"),
        ("import recommender.services.recommendations as r\n", "app/views.py", "recommender.services.recommendations"),
        ("from recommender import presentation\n", "app/views.py", "recommender"),
        ("def f():\n    from web.forms import LoginForm\n", "app/views.py", "web.forms"),
        ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import web\n", "app/x.py", "web"),
        ("import importlib\nimportlib.import_module('recommender.tasks')\n", "app/x.py", "recommender.tasks"),
        ("from ... import recommender\n", "app/sub/x.py", "recommender"),  # climbs out of the app
    ],
)
def test_the_guard_catches_every_kind_of_import(tmp_path, source, where, caught):
    module = tmp_path / where
    module.parent.mkdir(parents=True, exist_ok=True)
    module.write_text(source)
    (tmp_path / "app" / "ok.py").write_text("from .views import f\nfrom django.db import models\n")
    violations = boundary_violations(tmp_path / "app", ["recommender", "web"], root=tmp_path)
    assert violations == [f"{module.relative_to(tmp_path)}: {caught}"]

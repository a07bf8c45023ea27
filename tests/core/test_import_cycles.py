"""No import circles between the project's modules (issue #26), read with ast like the app boundaries
(test_app_boundaries.py): a lazy import inside a function counts too. Together with the boundaries this keeps
`python3 ../shared/bench/house_check.py` green without needing the shared folder."""

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

from .test_app_boundaries import ROOT, _relative_base, imported_modules, module_name

APPS = ("core", "movies", "recommender", "api", "web", "recsite")


def import_graph(root: Path = ROOT, apps: tuple[str, ...] = APPS) -> dict[str, set[str]]:
    """Each module of the apps (migrations left out) -> the project modules it imports. ``from pkg import name``
    is an edge to pkg.name when that is a module, else to pkg (where the name is defined)."""
    files = {
        module_name(path, root): path
        for app in apps
        for path in sorted((root / app).rglob("*.py"))
        if not {"__pycache__", "migrations"} & set(path.parts)
    }
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        edges = set()
        for target in imported_modules(path, root) | imported_submodules(path, root, files):
            while target and target not in files:  # pkg.func -> pkg; an outside library -> nothing
                target = target.rpartition(".")[0]
            if target and target != name:
                edges.add(target)
        graph[name] = edges
    return graph


def imported_submodules(path: Path, root: Path, files) -> set[str]:
    """``from pkg import mod`` (or ``from . import mod``) where pkg.mod is a module of the tree: pkg.mod itself."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = ".".join([*(_relative_base(path, node.level, root) if node.level else []), node.module or ""])
            found.update(f"{base.strip('.')}.{alias.name}" for alias in node.names)
    return {name for name in found if name in files}


def cycle(graph: dict[str, set[str]]) -> list[str] | None:
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as exc:
        return exc.args[1]
    return None


def test_the_project_has_no_import_circles():
    graph = import_graph()
    assert len(graph) > 100  # the real tree, not an empty folder
    assert cycle(graph) is None, " -> ".join(cycle(graph))


@pytest.mark.parametrize(
    "files, circle",
    [
        ({"a/__init__.py": "", "a/x.py": "from a.y import f\n", "a/y.py": "def f():\n    from a import x\n"}, True),
        ({"a/__init__.py": "", "a/x.py": "from . import y\n", "a/y.py": "import a.z\n", "a/z.py": "import a.x"}, True),
        ({"a/__init__.py": "", "a/x.py": "from a.y import f\n", "a/y.py": "import json\n"}, False),
    ],
)
def test_the_check_finds_a_circle_through_any_kind_of_import(tmp_path, files, circle):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert (cycle(import_graph(tmp_path, ("a",))) is not None) is circle

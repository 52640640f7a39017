"""The layering rules of docs/architecture.md, checked on the source: no import cycles, no service clients in
the domain packages, no overlong library modules."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("egp", "workers", "executors", "dbmanager", "benchmarks")
DOMAIN = ("egp.genetic_code", "egp.physics", "egp.problems", "egp.engine")
SERVICE_CLIENTS = ("celery", "sqlalchemy", "redis", "psycopg")
MAX_LINES = 550


def module_name(path: Path) -> str:
    """The dotted module name of a .py file under ROOT (a package's __init__ is the package)."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    """Every module of the project packages, by dotted name."""
    return {
        module_name(path): path for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))
    }


def _is_type_checking(test: ast.expr) -> bool:
    """`if TYPE_CHECKING:` or `if typing.TYPE_CHECKING:`."""
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement under `node`, function-local ones included, except under TYPE_CHECKING."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for other in child.orelse:
                yield from _runtime_imports_of(other)
            continue
        yield from _runtime_imports_of(child)


def _runtime_imports_of(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """`node` itself if it is an import, then the imports inside it."""
    if isinstance(node, ast.Import | ast.ImportFrom):
        yield node
    yield from _runtime_imports(node)


def imported_names(module: str, path: Path) -> set[str]:
    """The dotted names `module` imports at run time (for `from a import b`: both `a` and `a.b`)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in _runtime_imports(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
            continue
        if node.level:
            base_parts = package.split(".")
            base_parts = base_parts[: len(base_parts) - (node.level - 1)]
            base = ".".join([*base_parts, *([node.module] if node.module else [])])
        else:
            base = node.module or ""
        names.add(base)
        names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The project module `name` refers to (the longest module prefix of it), or None outside the project."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def import_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports, leaving out edges to packages' `__init__` modules."""
    modules = project_modules()
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        targets = {resolve(name, modules) for name in imported_names(module, path)}
        graph[module] = {
            target
            for target in targets
            if target is not None and target != module and modules[target].name != "__init__.py"
        }
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component of more than one module (Tarjan), each as a closed path."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        """Tarjan's recursive step."""
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_cycle_in(component, graph) for component in components]


def _cycle_in(component: list[str], graph: dict[str, set[str]]) -> list[str]:
    """A closed path through the component's first module (a breadth-first search back to it)."""
    members = set(component)
    start = component[0]
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following: list[str] = []
        for node in frontier:
            for target in sorted(graph[node] & members):
                if target == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [start, *reversed(path[:-1]), start]
                if target not in came_from:
                    came_from[target] = node
                    following.append(target)
        frontier = following
    return component  # unreachable for a strongly connected component


def test_the_cycle_finder_finds_a_cycle_and_ignores_a_chain() -> None:
    """A three-module loop is reported as a closed path; a chain and a self-import are not cycles."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a", "d"}}
    assert find_cycles(graph) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_imports_are_read_with_their_exceptions(tmp_path: Path) -> None:
    """Function-local and relative imports count; TYPE_CHECKING imports do not."""
    source = (
        "from typing import TYPE_CHECKING\n"
        "from . import sibling\n"
        "if TYPE_CHECKING:\n    import egp.only_for_types\n"
        "def f():\n    import egp.local\n"
    )
    path = tmp_path / "mod.py"
    path.write_text(source)
    names = imported_names("egp.pkg.mod", path)
    assert {"egp.pkg", "egp.pkg.sibling", "egp.local"} <= names
    assert "egp.only_for_types" not in names


def test_no_import_cycles() -> None:
    """No project module imports itself through others (edges to package __init__ modules left out)."""
    cycles = find_cycles(import_graph())
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(cycle) for cycle in cycles)


@pytest.mark.parametrize("package", DOMAIN)
def test_domain_packages_import_no_service_client(package: str) -> None:
    """The GC model, physics, problems and engine import neither Celery nor a database or broker client."""
    modules = project_modules()
    offenders = [
        f"{module} imports {name}"
        for module, path in modules.items()
        if module == package or module.startswith(f"{package}.")
        for name in sorted(imported_names(module, path))
        if name.split(".")[0] in SERVICE_CLIENTS
    ]
    assert not offenders, "\n".join(offenders)


def test_library_modules_stay_short() -> None:
    """No module under egp/ is longer than MAX_LINES lines: one file, one idea."""
    long = {
        module: lines
        for module, path in project_modules().items()
        if module.split(".")[0] == "egp" and (lines := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert not long, f"modules over {MAX_LINES} lines: {long}"

"""Packaging: declared dependencies are used, metadata is complete, secrets stay out of git and images."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from egp.installation import foreign_pool_packages

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PACKAGES = ("egp", "workers", "executors", "dbmanager")


def _name(requirement: str) -> str:
    """The distribution name of a requirement string, lower case."""
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert match, requirement
    return match.group(0).lower()


def _imported_top_level_modules() -> set[str]:
    """Every top-level module the shipped packages import."""
    found: set[str] = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for line in path.read_text().splitlines():
                match = re.match(r"\s*(?:from|import)\s+([A-Za-z_][A-Za-z0-9_]*)", line)
                if match:
                    found.add(match.group(1).lower())
    return found


def test_every_runtime_dependency_is_imported() -> None:
    """No dependency is declared that nothing imports (packaging was; kombu comes with celery)."""
    imported = _imported_top_level_modules()
    module_of = {"pydantic-settings": "pydantic_settings", "sqlalchemy": "sqlalchemy"}
    unused = [
        requirement
        for requirement in PYPROJECT["project"]["dependencies"]
        if module_of.get(_name(requirement), _name(requirement).replace("-", "_")) not in imported
    ]
    assert unused == []


def test_no_disabled_or_docker_only_test_plugins() -> None:
    """pytest-celery (fixtures that need a Docker engine; pulls in docker and debugpy) is not a dependency."""
    dev = [_name(r) for r in PYPROJECT["project"]["optional-dependencies"]["dev"]]
    assert "pytest-celery" not in dev
    assert "no:celery" not in PYPROJECT["tool"]["pytest"]["ini_options"]["addopts"]


def test_flower_and_binary_psycopg_are_extras() -> None:
    """Embedded users get neither a web server nor a bundled libpq; the image asks for both."""
    runtime = [_name(r) for r in PYPROJECT["project"]["dependencies"]]
    extras = PYPROJECT["project"]["optional-dependencies"]
    assert "flower" not in runtime
    assert "flower" in [_name(r) for r in extras["flower"]]
    assert "psycopg" in runtime
    assert not any("psycopg[binary]" in r for r in PYPROJECT["project"]["dependencies"])
    assert any("psycopg[binary]" in r for r in extras["binary"])
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"pip install .*-c constraints\.txt.*\[.*flower.*\]", dockerfile)
    assert re.search(r"pip install .*\[.*binary.*\]", dockerfile)


def test_constraints_pin_every_dependency_exactly() -> None:
    """constraints.txt pins each runtime and dev dependency to one version; CI and the image use it."""
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, sep, version = line.partition("==")
            assert sep and version, f"not an exact pin: {line}"
            pins[name.strip().lower().replace("_", "-")] = version
    extras = PYPROJECT["project"]["optional-dependencies"]
    for requirement in [
        *PYPROJECT["project"]["dependencies"],
        *extras["dev"],
        *extras["flower"],
        *extras["dashboard"],
    ]:
        assert _name(requirement).replace("_", "-") in pins, requirement
    assert "-c constraints.txt" in (ROOT / "scripts" / "test").read_text()


def test_metadata_license_classifiers_and_typed_marker() -> None:
    """A LICENSE file, MIT classifiers, a project URL and egp/py.typed (PEP 561)."""
    assert "MIT License" in (ROOT / "LICENSE").read_text()
    project = PYPROJECT["project"]
    assert "License :: OSI Approved :: MIT License" in project["classifiers"]
    assert "Typing :: Typed" in project["classifiers"]
    assert project["urls"]
    assert (ROOT / "egp" / "py.typed").is_file()


def test_env_files_are_ignored_by_git_and_docker() -> None:
    """`.env`, the README's place for secrets, is neither committed nor sent into an image."""
    for name in (".gitignore", ".dockerignore"):
        assert ".env" in (ROOT / name).read_text().splitlines(), name


def test_pool_packages_are_ours() -> None:
    """workers, executors and dbmanager resolve to the packages installed beside egp."""
    assert foreign_pool_packages() == []


def test_a_shadowing_pool_package_is_reported(tmp_path: Path) -> None:
    """A foreign `workers` package found first on sys.path is named by egp status's check."""
    (tmp_path / "workers").mkdir()
    (tmp_path / "workers" / "__init__.py").write_text("")
    code = "from egp.installation import foreign_pool_packages; print(foreign_pool_packages())"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=60, check=True
    )
    assert "package workers is shadowed" in result.stdout


@pytest.mark.parametrize("name", PACKAGES)
def test_packages_ship_in_the_wheel(name: str) -> None:
    """Each top-level package is listed for the wheel (py.typed travels with egp)."""
    assert name in PYPROJECT["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]


def test_the_image_dependency_layer_lists_every_runtime_dependency() -> None:
    """The Dockerfile's dependency layer installs every runtime dependency (the code layer adds none)."""
    dockerfile = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    marker = 'pip install -c constraints.txt "celery'
    layer = next(line for line in dockerfile.splitlines() if marker in line)
    for requirement in PYPROJECT["project"]["dependencies"]:
        assert re.search(rf"\b{re.escape(_name(requirement))}\b", layer, re.IGNORECASE), requirement

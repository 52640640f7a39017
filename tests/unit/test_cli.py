"""The egp command line: help, registration of command modules, one-line errors."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from egp.cli import COMMAND_MODULES, app

EGP = str(Path(sys.executable).parent / "egp")


def test_help_lists_the_commands() -> None:
    """`egp --help` works and shows the db, status and config commands."""
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("db", "status", "config"):
        assert command in result.output


def test_every_command_module_imports() -> None:
    """Each module named in COMMAND_MODULES exists and registers on the shared app."""
    for name in COMMAND_MODULES:
        assert importlib.import_module(name).app is app


def test_a_bad_url_option_is_one_line(tmp_path: Path) -> None:
    """`egp db upgrade --url nonsense` fails with exit code 2 and one line naming the option."""
    result = subprocess.run(
        [EGP, "db", "upgrade", "--url", "nonsense"], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "error: --url: 'nonsense' is not a database URL"


def test_embedded_status_succeeds_on_a_fresh_directory(tmp_path: Path) -> None:
    """With no settings and no Gene Pool file yet, `egp status` succeeds and creates nothing."""
    result = subprocess.run(
        [EGP, "status"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert "embedded" in result.stdout
    assert list(tmp_path.iterdir()) == []


def test_config_markdown_prints_the_reference() -> None:
    """`egp config --markdown` prints a table with a row per setting."""
    result = CliRunner().invoke(app, ["config", "--markdown"])
    assert result.exit_code == 0
    assert "| `EGP_GENE_POOL_URL` |" in result.output

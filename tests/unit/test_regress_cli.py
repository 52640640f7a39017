"""`egp regress data.csv --target COLUMN`: a small CSV fitted end to end, and one-line errors for bad ones."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

EGP = str(Path(sys.executable).parent / "egp")


def _egp(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EGP, *args], capture_output=True, text=True, timeout=240, cwd=cwd)


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _formula_csv(path: Path, rows: int = 60) -> Path:
    rng = random.Random(1)
    lines = ["speed,mass,energy"]
    for _ in range(rows):
        speed, mass = rng.uniform(0.5, 3.0), rng.uniform(1.0, 4.0)
        lines.append(f"{speed},{mass},{0.5 * mass * speed * speed}")
    return _write(path, "\n".join(lines) + "\n")


@pytest.mark.slow
def test_regress_fits_a_small_csv_end_to_end(tmp_path: Path) -> None:
    """A kinetic-energy table gives its formula, train/test R² ≈ 1 and the Gene Pool that stores the run."""
    data = _formula_csv(tmp_path / "energy.csv")
    pool = tmp_path / "pool.db"
    result = _egp(
        "regress", str(data), "--target", "energy", "--gene-pool", f"sqlite:///{pool}", "--json", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["test_r2"] >= 0.999 and report["train_r2"] >= 0.999
    assert report["train_rows"] == 45 and report["test_rows"] == 15
    assert "speed" in report["formula"] and "mass" in report["formula"]
    assert report["gene_pool"].endswith("pool.db") and pool.exists()
    text = _egp("regress", str(data), "--target", "energy", "--fresh", "--generations", "30", cwd=tmp_path)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0].startswith("energy = ") and "test R²" in lines[1] and "memory://" in lines[2]


@pytest.mark.parametrize(
    ("content", "target", "message"),
    [
        ("a,b,y\n1,2,3\n4,5,6\n7,8,9\n", "z", "no column 'z' to predict; the columns are a, b, y"),
        ("a,b,y\n1,2,3\n4,x5,6\n7,8,9\n", "y", "line 3, column 'b': 'x5' is not a number"),
        ("a,b,y\n1,2,3\n4,NaN,6\n7,8,9\n", "y", "line 3, column 'b': 'NaN' is not a finite number"),
        ("a,b,y\n1,2,3\n4,,6\n7,8,9\n", "y", "line 3, column 'b': missing value"),
        ("a,b,y\n1,2,3\n", "y", "1 data row(s); regression needs at least 2"),
        ("a,b,y\n1,2,3\n4,5\n7,8,9\n", "y", "line 3: 2 fields, but the header has 3"),
        ("y\n1\n2\n3\n", "y", "only the target column 'y'"),
        ("", "y", "the file is empty"),
    ],
)
def test_a_bad_csv_is_one_line_and_exit_2(tmp_path: Path, content: str, target: str, message: str) -> None:
    """Missing target, non-numeric cells, NaN, empty cells, one row, ragged rows: one line, exit code 2."""
    data = _write(tmp_path / "bad.csv", content)
    result = _egp("regress", str(data), "--target", target, "--fresh", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert message in result.stderr
    assert result.stdout == ""


def test_bad_options_are_one_line(tmp_path: Path) -> None:
    """A missing file, a bad --test-size or an unknown function: one line, exit code 2."""
    data = _formula_csv(tmp_path / "ok.csv", rows=10)
    cases = [
        (["regress", str(tmp_path / "nope.csv"), "--target", "y"], "no such file"),
        (["regress", str(data), "--target", "energy", "--test-size", "1.5"], "--test-size must be between 0"),
        (["regress", str(data), "--target", "energy", "--functions", "add,tan"], "unknown function 'tan'"),
    ]
    for args, message in cases:
        result = _egp(*args, "--fresh", cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        assert message in result.stderr and result.stderr.count("\n") == 1

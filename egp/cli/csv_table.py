"""Reading a numeric table from a CSV file for `egp regress`, with one clear error for each bad input."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from egp.errors import EGPError


class TableError(EGPError):
    """A CSV file cannot be used as a regression table (the message names the file, line and column)."""


@dataclass(frozen=True)
class Table:
    """The feature matrix, the target column and the feature names of a CSV table."""

    X: npt.NDArray[np.float64]
    y: npt.NDArray[np.float64]
    features: tuple[str, ...]


def read_table(path: Path, target: str) -> Table:
    """Read `path` (a header line, then one row per line) as features and the `target` column."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle))
    except FileNotFoundError:
        raise TableError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise TableError(f"{path}: cannot read it as CSV: {error}") from None
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if not rows:
        raise TableError(f"{path}: the file is empty (expected a header line and rows)")
    header = [name.strip() for name in rows[0]]
    if target not in header:
        raise TableError(f"{path}: no column {target!r} to predict; the columns are {', '.join(header)}")
    if len(set(header)) != len(header) or any(not name for name in header):
        raise TableError(f"{path}: the header needs a distinct, non-empty name for every column")
    if len(header) < 2:
        raise TableError(f"{path}: only the target column {target!r}; regression needs feature columns too")
    data = rows[1:]
    if len(data) < 2:
        raise TableError(f"{path}: {len(data)} data row(s); regression needs at least 2")
    values = np.empty((len(data), len(header)), dtype=np.float64)
    for number, row in enumerate(data, start=2):
        if len(row) != len(header):
            raise TableError(f"{path} line {number}: {len(row)} fields, but the header has {len(header)}")
        for column, cell in enumerate(row):
            values[number - 2, column] = _number(path, number, header[column], cell)
    index = header.index(target)
    features = tuple(name for k, name in enumerate(header) if k != index)
    X = np.ascontiguousarray(np.delete(values, index, axis=1))
    return Table(X, np.ascontiguousarray(values[:, index]), features)


def _number(path: Path, line: int, column: str, cell: str) -> float:
    """The cell as a finite float, or TableError naming where it is and what is wrong."""
    text = cell.strip()
    if not text:
        raise TableError(f"{path} line {line}, column {column!r}: missing value")
    try:
        value = float(text)
    except ValueError:
        raise TableError(f"{path} line {line}, column {column!r}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise TableError(f"{path} line {line}, column {column!r}: {text!r} is not a finite number")
    return value


def split_rows(rows: int, test_size: float, seed: int) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Training and test row indices holding out `test_size` of the rows (at least one, leaving two)."""
    if not 0.0 < test_size < 1.0:
        raise TableError(f"--test-size must be between 0 and 1 (exclusive), got {test_size}")
    held = max(1, round(rows * test_size))
    if rows - held < 2:
        raise TableError(f"{rows} rows leave fewer than 2 for training at --test-size {test_size}")
    order = np.random.default_rng(seed).permutation(rows)
    return np.sort(order[held:]), np.sort(order[:held])

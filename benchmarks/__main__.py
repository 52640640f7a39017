"""Dispatch `python -m benchmarks NAME [--json] [args]` to `benchmarks/NAME.py`'s `main(argv) -> dict`."""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
from pathlib import Path
from typing import Any

PACKAGE_DIR = Path(__file__).resolve().parent


def available() -> list[str]:
    """Return the names of the benchmark modules (every public module in this package)."""
    return sorted(
        info.name for info in pkgutil.iter_modules([str(PACKAGE_DIR)]) if not info.name.startswith("_")
    )


def _format_value(value: Any) -> str:
    """Return a compact text form of one value for the table."""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list | tuple) and len(value) > 8:
        return f"[{len(value)} items]"
    if isinstance(value, dict):
        return json.dumps(value, default=str)
    return str(value)


def _table(rows: list[dict[str, Any]]) -> list[str]:
    """Return a list of dicts rendered as an aligned text table."""
    columns: list[str] = []
    for row in rows:
        columns.extend(key for key in row if key not in columns)
    cells = [[_format_value(row.get(col, "")) for col in columns] for row in rows]
    widths = [max(len(col), *(len(r[i]) for r in cells)) for i, col in enumerate(columns)]
    lines = ["  ".join(col.ljust(w) for col, w in zip(columns, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines.extend("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells)
    return lines


def render(result: dict[str, Any], indent: str = "") -> list[str]:
    """Return a readable rendering: scalars as `key: value`, lists of dicts as tables, dicts nested."""
    lines: list[str] = []
    for key, value in result.items():
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            lines.append(f"{indent}{key}:")
            lines.extend(indent + "  " + line for line in _table(value))
        elif isinstance(value, dict) and value:
            lines.append(f"{indent}{key}:")
            lines.extend(render(value, indent + "  "))
        else:
            lines.append(f"{indent}{key}: {_format_value(value)}")
    return lines


def main(argv: list[str] | None = None) -> int:
    """Run one benchmark module and print its result as a table or (with --json) one JSON line."""
    args = list(sys.argv[1:] if argv is None else argv)
    names = available()
    if not args or args[0].startswith("-"):
        print(
            f"usage: python -m benchmarks NAME [--json] [args]; available: {', '.join(names)}",
            file=sys.stderr,
        )
        return 2
    name, rest = args[0], args[1:]
    as_json = "--json" in rest
    rest = [arg for arg in rest if arg != "--json"]
    if name not in names:
        print(f"unknown benchmark {name!r}; available: {', '.join(names)}", file=sys.stderr)
        return 2
    module = importlib.import_module(f"benchmarks.{name}")
    entry = getattr(module, "main", None)
    if not callable(entry):
        print(
            f"benchmark {name!r} has no main(argv) function; available: {', '.join(names)}", file=sys.stderr
        )
        return 2
    result = entry(rest)
    if as_json:
        print(json.dumps(result, default=str, sort_keys=False))
    else:
        print("\n".join(render(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

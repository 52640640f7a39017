"""How commands print tables and programs: whole values, and plain text when stdout is not a terminal."""

from __future__ import annotations

import sys
from collections.abc import Collection, Iterable, Sequence

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text


def stdout_is_terminal() -> bool:
    """True when stdout is an interactive terminal (not a pipe, a file or a test runner's buffer)."""
    isatty = getattr(sys.stdout, "isatty", None)
    return bool(isatty and isatty())


def _plain(cell: str) -> str:
    """A cell as one tab-free line, so a tab-separated row stays one row of the same columns."""
    return " ".join(cell.split())


def print_table(
    columns: Sequence[str],
    rows: Iterable[Sequence[str]],
    keys: Collection[str] = (),
    title: str | None = None,
    caption: str | None = None,
) -> None:
    """Print a table: a rich table on a terminal (key columns never cut), tab-separated text otherwise."""
    materialised = [[str(cell) for cell in row] for row in rows]
    if not stdout_is_terminal():
        typer.echo("\t".join(columns))
        for row in materialised:
            typer.echo("\t".join(_plain(cell) for cell in row))
        return
    table = Table(title=title, caption=caption)
    for index, column in enumerate(columns):
        if column in keys:
            # Ids and names are what a user copies: the other columns wrap first, these never shrink.
            widest = max([len(column), *(len(row[index]) for row in materialised)])
            table.add_column(column, no_wrap=True, min_width=widest)
        else:
            table.add_column(column)
    for row in materialised:
        table.add_row(*(Text(cell) for cell in row))  # Text: a cell is never markup
    Console(highlight=False).print(table)

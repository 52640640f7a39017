"""The `egp` command line: thin Typer commands over the library.

Commands live in modules listed in COMMAND_MODULES. Each module imports `app` from here and registers
itself on it, either with `@app.command()` or with `app.add_typer(group, name="...")`. To add a
command group, write `egp/cli/<name>_cmd.py` and append its module name to COMMAND_MODULES.
"""

from __future__ import annotations

import importlib
import sys

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.text import Text

from egp.config import format_validation_error
from egp.errors import EGPError

app = typer.Typer(
    name="egp",
    help="Erasmus Genetic Programming: evolve typed programs and the operators that mutate them.",
    no_args_is_help=True,
    add_completion=False,
    # User mistakes become one line in main(); anything else keeps its plain traceback.
    pretty_exceptions_enable=False,
)

COMMAND_MODULES: tuple[str, ...] = (
    "egp.cli.config_cmd",
    "egp.cli.db_cmd",
    "egp.cli.status_cmd",
    "egp.cli.codons_cmd",
    "egp.cli.gc_cmd",
    "egp.cli.problems_cmd",
    "egp.cli.evolve_cmd",
    "egp.cli.pool_cmd",
    "egp.cli.library_cmd",
    "egp.cli.job_cmd",
)


def print_error(message: str) -> None:
    """Print `error: message` as one red line on stderr."""
    Console(stderr=True, soft_wrap=True, highlight=False).print(Text("error: ", style="bold red") + message)


def main() -> None:
    """Run the `egp` command; a user's mistake is one red line on stderr and exit code 2, not a traceback."""
    try:
        app()
    except EGPError as error:
        print_error(str(error))
        sys.exit(2)
    except ValidationError as error:
        print_error(format_validation_error(error))
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)


# Last, so the command modules can import everything above from this package.
for _module in COMMAND_MODULES:
    importlib.import_module(_module)

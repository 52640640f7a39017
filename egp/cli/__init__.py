"""The `egp` command line: thin Typer commands over the library.

Commands live in modules listed in COMMAND_MODULES. Each module imports `app` from here and registers
itself on it, either with `@app.command()` or with `app.add_typer(group, name="...")`. To add a
command group, write `egp/cli/<name>_cmd.py` and append its module name to COMMAND_MODULES.
"""

from __future__ import annotations

import importlib
import sys

import typer

from egp.errors import EGPError, one_line

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
    "egp.cli.curriculum_cmd",
    "egp.cli.regress_cmd",
    "egp.cli.pool_cmd",
    "egp.cli.library_cmd",
    "egp.cli.job_cmd",
    "egp.cli.dashboard_cmd",
    "egp.cli.report_cmd",
)


def print_error(message: str) -> None:
    """Print `error: message` as one red line on stderr (a multi-line message is joined into one)."""
    from rich.console import Console
    from rich.text import Text

    line = " ".join(message.split())
    Console(stderr=True, soft_wrap=True, highlight=False).print(Text("error: ", style="bold red") + line)


def user_error(error: BaseException) -> tuple[str, int] | None:
    """The one-line message and exit code for an error a user should not see as a traceback, else None.

    Mistakes in settings or arguments exit 2; an unreachable or failing database exits 1 (something is down).
    """
    if isinstance(error, EGPError):
        return str(error), 2
    # Checked through sys.modules: an error of a library that was never imported cannot be raised.
    pydantic = sys.modules.get("pydantic")
    if pydantic is not None and isinstance(error, pydantic.ValidationError):
        from egp.config import format_validation_error

        return format_validation_error(error), 2
    sqlalchemy_exc = sys.modules.get("sqlalchemy.exc")
    if sqlalchemy_exc is not None and isinstance(error, sqlalchemy_exc.DBAPIError):
        # The driver's message, without SQLAlchemy's "Background on this error at ..." line.
        return f"database error: {one_line(error.orig or error)}", 1
    return None


def main() -> None:
    """Run the `egp` command; a user's mistake is one red line on stderr and exit code 2, not a traceback."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as error:
        known = user_error(error)
        if known is None:
            raise
        print_error(known[0])
        sys.exit(known[1])


# Last, so the command modules can import everything above from this package.
for _module in COMMAND_MODULES:
    importlib.import_module(_module)

"""`egp config`: show the effective settings, or the settings reference as a Markdown table."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from egp.cli import app
from egp.config import get_settings, settings_reference_markdown, shown_settings


@app.command("config")
def config_command(
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print the reference table of every setting instead.")
    ] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print the settings as JSON.")] = False,
) -> None:
    """Show the effective settings (passwords masked) and the environment variable that sets each."""
    if markdown:
        typer.echo(settings_reference_markdown(), nl=False)
        return
    shown = shown_settings(get_settings())
    if json_output:
        typer.echo(json.dumps(shown, indent=2))
        return
    for name, value in shown.items():
        if value is None:
            typer.echo(f"{name} is unset")
        else:
            typer.echo(f"{name}={json.dumps(value) if isinstance(value, list) else value}")

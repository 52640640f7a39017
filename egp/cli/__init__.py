"""The `egp` command line: thin Typer commands over the library."""

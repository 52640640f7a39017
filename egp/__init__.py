"""Erasmus Genetic Programming: evolve typed programs and the operators that mutate them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from egp.api import evolve as evolve


def __getattr__(name: str) -> Any:
    """Load `egp.evolve` on first use, so importing `egp` stays cheap for the CLI and the workers."""
    if name == "evolve":
        from egp.api import evolve

        return evolve
    raise AttributeError(f"module 'egp' has no attribute {name!r}")


__all__ = ["evolve"]

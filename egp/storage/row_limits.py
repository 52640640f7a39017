"""Limits on what a row from another database may hold, checked before anything parses or validates it.

A row from another database is hostile until proven otherwise: its graph text may be nested deeply enough
to exhaust the parser's recursion, be many megabytes long, hold NaN or huge integers, repeat keys, or put
any JSON type anywhere. `check_json_text` is the cheap guard every stored graph passes before `json.loads`
(length, then nesting depth, found without recursion); `loads_bounded` is the strict parse of rows arriving
from elsewhere (also string lengths, element count, duplicate keys, non-finite and oversized numbers). Every
breach is a `RowLimitError`, a `GCValidationError` whose message names the limit.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from egp.genetic_code.graph import MAX_ENDPOINTS, GCValidationError

# A canonical graph has at most eight rows of MAX_ENDPOINTS endpoints of ~40 characters each: 512 KiB is
# far above any valid graph and far below what could hurt a process.
MAX_GRAPH_CHARS = 512 * 1024
# A canonical graph nests three deep (object, row, endpoint); 8 leaves room and stays far from recursion.
MAX_DEPTH = 8
# Type names and row keys are short; this bounds every string inside a graph.
MAX_STRING_CHARS = 1024
# Every list element and object member of a graph, in all: eight rows of MAX_ENDPOINTS [row, index, type].
MAX_ELEMENTS = 8 * MAX_ENDPOINTS * 4 + 64
# Integers in a graph are endpoint indices: 20 digits covers int64 and refuses a 10**100000 literal.
MAX_INT_DIGITS = 20
# Codon text columns (name, inline literal, description) of a row from elsewhere.
MAX_CODON_TEXT_CHARS = 4096

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_INNERMOST = re.compile(r"\[\]|\{\}")


class RowLimitError(GCValidationError):
    """A row from another database breaks a size, depth, type or number limit."""


def check_json_text(value: Any, what: str = "graph", max_chars: int = MAX_GRAPH_CHARS) -> str:
    """`value` as JSON text of at most `max_chars`, nested at most MAX_DEPTH deep; RowLimitError otherwise."""
    if not isinstance(value, str):
        raise RowLimitError(f"{what} is {type(value).__name__}, not JSON text")
    if len(value) > max_chars:
        raise RowLimitError(f"{what} is {len(value)} characters long (at most {max_chars})")
    # Depth cannot exceed the number of opening brackets, so the usual small graph needs no scan.
    if value.count("[") + value.count("{") > MAX_DEPTH:
        depth_of(value, what)
    return value


def depth_of(text: str, what: str = "graph") -> int:
    """The bracket nesting depth of JSON `text` (strings ignored); RowLimitError past MAX_DEPTH.

    Found without recursion: strings and everything but brackets are removed, then innermost pairs are
    removed once per level, so a text deeper than MAX_DEPTH costs MAX_DEPTH linear passes, never a stack.
    """
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    for depth in range(MAX_DEPTH + 1):
        if not brackets:
            return depth
        brackets, removed = _INNERMOST.subn("", brackets)
        if not removed:
            raise RowLimitError(f"{what} is not valid JSON: unbalanced brackets")
    raise RowLimitError(f"{what} is nested more than {MAX_DEPTH} deep")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object from its members; RowLimitError when a key repeats (JSON would silently keep the last)."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        repeated = next(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
        raise RowLimitError(f"duplicate key {repeated[:40]!r}")
    return obj


def _bounded_int(text: str) -> int:
    """An integer literal of at most MAX_INT_DIGITS digits."""
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise RowLimitError(f"integer literal of {len(text)} characters (at most {MAX_INT_DIGITS} digits)")
    return int(text)


def _finite_float(text: str) -> float:
    """A finite float literal (1e999 would be infinity)."""
    value = float(text)
    if not math.isfinite(value):
        raise RowLimitError(f"number {text[:40]} is not finite")
    return value


def _no_constant(name: str) -> Any:
    """NaN, Infinity and -Infinity are not JSON and never valid in a graph."""
    raise RowLimitError(f"non-standard constant {name} (NaN and Infinity are not JSON)")


def _check_sizes(value: Any, what: str) -> None:
    """Every string at most MAX_STRING_CHARS, at most MAX_ELEMENTS elements (depth is bounded already)."""
    pending, elements = [value], 0
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if len(item) > MAX_STRING_CHARS:
                raise RowLimitError(
                    f"{what} holds a string of {len(item)} characters (at most {MAX_STRING_CHARS})"
                )
        elif isinstance(item, dict):
            elements += len(item)
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            elements += len(item)
            pending.extend(item)
        if elements > MAX_ELEMENTS:
            raise RowLimitError(f"{what} has more than {MAX_ELEMENTS} elements")


def loads_bounded(value: Any, what: str = "graph") -> Any:
    """Parse JSON text from another database under every limit of this module; RowLimitError on a breach."""
    text = check_json_text(value, what)
    # Brackets were counted outside strings; the full depth check guards the parser whatever the count said.
    depth_of(text, what)
    try:
        parsed = json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_int=_bounded_int,
            parse_float=_finite_float,
            parse_constant=_no_constant,
        )
    except RowLimitError as error:
        raise RowLimitError(f"{what}: {error}") from None
    except (ValueError, RecursionError) as error:
        raise RowLimitError(f"{what} is not valid JSON: {error}") from None
    _check_sizes(parsed, what)
    return parsed


def check_text_column(value: Any, what: str, max_chars: int = MAX_CODON_TEXT_CHARS) -> str | None:
    """A nullable text column of a row from elsewhere: None or a str of at most `max_chars`."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise RowLimitError(f"{what} is {type(value).__name__}, not text")
    if len(value) > max_chars:
        raise RowLimitError(f"{what} is {len(value)} characters long (at most {max_chars})")
    return value


__all__ = [
    "MAX_DEPTH",
    "MAX_GRAPH_CHARS",
    "RowLimitError",
    "check_json_text",
    "check_text_column",
    "depth_of",
    "loads_bounded",
]

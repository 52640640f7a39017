"""The JSON shapes of a GC, of its connection graph and of a codon definition, as pydantic models.

They check structure only: which keys, which JSON types, which ranges. What the values mean (known types, the
graph's rules, signatures, sub-GCs, the registry) is checked by hand where they are used. Each `*_problem`
function turns a model's validation error into the one line the user sees, naming the first thing wrong;
callers raise it as their own error (GCValidationError, CodonDefinitionError).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError
from pydantic_core import ErrorDetails

# The widest integers a GC's fields hold (they are BIGINT and INTEGER columns).
INT63 = 2**63 - 1
INT31 = 2**31 - 1

# ---------------------------------------------------------------------------------------------- graphs
Endpoint = tuple[Literal["I", "A", "B"], StrictInt, StrictStr]


class GraphShape(BaseModel):
    """A canonical JSON graph: the interface rows as lists of type names, each destination row as a list of
    [source_row, source_index, type] connections."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    I: list[StrictStr] = []  # noqa: E741  (the domain's name for the input row)
    F: list[Endpoint] | None = None
    A: list[Endpoint] | None = None
    As: list[StrictStr] | None = None
    B: list[Endpoint] | None = None
    Bs: list[StrictStr] | None = None
    O: list[Endpoint] | None = None  # noqa: E741
    P: list[Endpoint] | None = None


_INTERFACE_ROWS = ("I", "As", "Bs")


def graph_problem(error: ValidationError) -> str:
    """The one line naming what is wrong with a graph's JSON shape."""
    details = error.errors()
    for item in details:
        if item["type"] == "extra_forbidden":
            return f"graph has unknown row {item['loc'][0]!r}"
    item = details[0]
    loc = item["loc"]
    if not loc:
        return "graph must be a JSON object"
    row = str(loc[0])
    if row in _INTERFACE_ROWS:
        where = f"row {row}" + (f"[{loc[1]}]" if len(loc) > 1 else "")
        return f"graph {where} must be a list of type names"
    if len(loc) == 1:
        return f"graph row {row} must be a list"
    where = f"{row}[{loc[1]}]"
    # A connection too short is reported as its missing part: that is the connection's shape too.
    part = loc[2] if len(loc) > 2 and item["type"] != "missing" else None
    if part == 0:
        if item["input"] is None:
            return f"destination {where} is not connected (unstable graph)"
        return f"graph {where} names unknown source row {item['input']!r}"
    if part == 1:
        return f"graph {where} source index must be an integer"
    if part == 2:
        return f"graph {where} type must be a type name"
    return f"graph {where} must be [source_row, source_index, type]"


# ------------------------------------------------------------------------------------------------- GCs
class CodonTemplate(BaseModel):
    """The template a codon's JSON carries (checked against the local registry's, never executed)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: StrictStr
    inline: StrictStr
    description: StrictStr


Reference = StrictStr | None


class GCShape(BaseModel):
    """A stored GC's JSON (serialization.to_json): references as hex text, never code."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    signature: StrictStr
    graph: Any  # its own shape: GraphShape
    gca: Reference
    gcb: Reference
    ancestora: Reference
    ancestorb: Reference
    pgc: Reference
    creator: StrictStr
    created: StrictStr
    properties: Annotated[StrictInt, Field(ge=0, le=INT63)]
    code_depth: Annotated[StrictInt, Field(ge=0, le=INT31)]
    num_codes: Annotated[StrictInt, Field(ge=0, le=INT31)]
    num_codons: Annotated[StrictInt, Field(ge=0, le=INT31)]
    generation: Annotated[StrictInt, Field(ge=1, le=INT63)]
    codon: CodonTemplate | None = None


_REFERENCES = ("gca", "gcb", "ancestora", "ancestorb", "pgc")


def _bounds(name: str) -> tuple[int, int]:
    """The [low, high] range of an integer field of GCShape."""
    low, high = 0, INT63
    for rule in GCShape.model_fields[name].metadata:
        low = getattr(rule, "ge", low)
        high = getattr(rule, "le", high)
    return low, high


def gc_problem(error: ValidationError) -> str:
    """The one line naming what is wrong with a GC's JSON shape: a missing field first, then unknown ones."""
    details = error.errors()
    missing = [str(item["loc"][0]) for item in details if item["type"] == "missing"]
    if missing:
        return f"GC JSON lacks field {missing[0]!r}"
    unknown = sorted(str(item["loc"][0]) for item in details if item["type"] == "extra_forbidden")
    if unknown:
        return f"GC JSON has unknown field(s) {unknown}"
    return _gc_field_problem(details[0])


def _gc_field_problem(item: ErrorDetails) -> str:
    """The message of one malformed GC field."""
    if not item["loc"]:
        return "a GC must be a JSON object"
    name, value = str(item["loc"][0]), item["input"]
    if name == "signature":
        return "signature must not be null" if value is None else "signature must be a hex signature"
    if name in _REFERENCES:
        return f"{name} must be a hex signature or null"
    if name == "creator":
        return f"creator {value!r} is not a UUID"
    if name == "created":
        return f"created {value!r} is not an ISO timestamp"
    if name == "codon":
        return f"codon must be an object of name, inline and description (strings): {item['msg']}"
    low, high = _bounds(name)
    return f"{name} must be an integer in [{low}, {high}], got {value!r}"


# ------------------------------------------------------------------------------------ codon definitions
class CodonEntryShape(BaseModel):
    """One codon of a family file: its template, interface, description and flags."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    inline: StrictStr
    inputs: list[StrictStr]
    outputs: list[StrictStr]
    description: StrictStr
    vectorisable: StrictBool = False
    deterministic: StrictBool = True
    side_effects: StrictBool = False
    literal: StrictBool = False
    is_pgc: StrictBool = False


def codon_entry_problem(error: ValidationError, where: str) -> str:
    """The one line naming what is wrong with the codon definition `where` ("codon NAME in FAMILY.json")."""
    details = error.errors()
    for item in details:
        if item["type"] == "missing":
            return f"{where} lacks {item['loc'][0]!r}"
    item = details[0]
    if not item["loc"]:
        return f"{where} must be an object"
    field = ".".join(str(part) for part in item["loc"])
    if item["type"] == "extra_forbidden":
        return f"{where} has unknown key {field!r}"
    return f"{where}: {field}: {item['msg']} (got {item['input']!r})"


__all__ = [
    "CodonEntryShape",
    "CodonTemplate",
    "GCShape",
    "GraphShape",
    "codon_entry_problem",
    "gc_problem",
    "graph_problem",
]

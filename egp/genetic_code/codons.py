"""The codon registry: the trusted library of primitive operations shipped with EGP as data.

Codon definitions live in `egp/genetic_code/data/codons/<family>.json`, one file per type family. Each entry
is keyed by the codon's unique name and gives its expression template (`{i0}`, `{i1}`, … are the inputs),
input and output types and flags. The registry builds each codon's stored GC (and so its signature) and is the
only source of code that EGP ever executes: a GC that names a codon not in this registry is rejected.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from pydantic import ValidationError

from egp.errors import EGPError
from egp.genetic_code.gc import GeneticCode, make_codon
from egp.genetic_code.json_shapes import CodonEntryShape, codon_entry_problem
from egp.genetic_code.properties import (
    DETERMINISTIC,
    LITERAL,
    SIDE_EFFECTS,
    VECTORISABLE,
    CGraphType,
    GCType,
    make_properties,
)
from egp.genetic_code.types import TYPES, UnknownTypeError

_INPUT_PLACEHOLDER = re.compile(r"\{i(\d+)\}")


class CodonDefinitionError(EGPError):
    """A shipped or user codon definition is malformed."""


@dataclass(frozen=True, slots=True)
class CodonSpec:
    """The source definition of one codon, as read from its family file."""

    name: str
    family: str
    inline: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    description: str
    vectorisable: bool
    deterministic: bool
    side_effects: bool
    literal: bool
    is_pgc: bool


def _spec_from_json(family: str, name: str, entry: Any) -> CodonSpec:
    """The spec of one family-file entry: its shape is json_shapes.CodonEntryShape's; the types it names
    and the inputs its template uses are checked here."""
    try:
        shape = CodonEntryShape.model_validate(entry)
    except ValidationError as error:
        raise CodonDefinitionError(codon_entry_problem(error, f"codon {name} in {family}.json")) from None
    for type_name in (*shape.inputs, *shape.outputs):
        if type_name not in TYPES:
            raise CodonDefinitionError(f"codon {name} in {family}.json uses unknown type {type_name!r}")
    used = {int(m) for m in _INPUT_PLACEHOLDER.findall(shape.inline)}
    if any(k >= len(shape.inputs) for k in used):
        raise CodonDefinitionError(
            f"codon {name}: template uses an input beyond its {len(shape.inputs)} inputs"
        )
    if not shape.outputs:
        raise CodonDefinitionError(f"codon {name} has no outputs")
    return CodonSpec(
        name=name,
        family=family,
        inline=shape.inline,
        inputs=tuple(shape.inputs),
        outputs=tuple(shape.outputs),
        description=shape.description,
        vectorisable=shape.vectorisable,
        deterministic=shape.deterministic,
        side_effects=shape.side_effects,
        literal=shape.literal,
        is_pgc=shape.is_pgc,
    )


class CodonRegistry:
    """Codons keyed by signature and by name, with the specs they came from."""

    def __init__(self, files: dict[str, str]) -> None:
        """Build the registry from {family: JSON text}; raises CodonDefinitionError on a bad definition."""
        self._by_signature: dict[bytes, GeneticCode] = {}
        self._by_name: dict[str, GeneticCode] = {}
        self._specs: dict[str, CodonSpec] = {}
        digest = hashlib.sha256()
        for family in sorted(files):
            text = files[family]
            digest.update(family.encode() + b"\0" + text.encode() + b"\0")
            try:
                entries = json.loads(text)
            except json.JSONDecodeError as error:
                raise CodonDefinitionError(f"{family}.json is not valid JSON: {error}") from None
            if not isinstance(entries, dict):
                raise CodonDefinitionError(f"{family}.json must be an object of codon definitions by name")
            for name, entry in entries.items():
                if name.startswith("_"):
                    continue
                spec = _spec_from_json(family, name, entry)
                if name in self._specs:
                    raise CodonDefinitionError(f"codon {name} is defined twice")
                self._add(spec)
        self.files_hash = digest.hexdigest()

    def _add(self, spec: CodonSpec) -> None:
        try:
            inputs = tuple(TYPES.uid(t) for t in spec.inputs)
            outputs = tuple(TYPES.uid(t) for t in spec.outputs)
        except UnknownTypeError as error:
            raise CodonDefinitionError(f"codon {spec.name}: {error}") from None
        properties = make_properties(
            GCType.CODON,
            CGraphType.PRIMITIVE,
            constant=spec.literal,
            deterministic=spec.deterministic,
            side_effects=spec.side_effects,
            is_pgc=spec.is_pgc,
            literal=spec.literal,
            vectorisable=spec.vectorisable,
        )
        gc = make_codon(spec.name, spec.inline, inputs, outputs, properties, spec.description)
        if gc.signature in self._by_signature:
            other = self._by_signature[gc.signature].name
            raise CodonDefinitionError(f"codons {spec.name} and {other} are identical")
        self._by_signature[gc.signature] = gc
        self._by_name[spec.name] = gc
        self._specs[spec.name] = spec

    def add_runtime_codon(self, gc: GeneticCode) -> None:
        """Register a codon made at run time (a new literal) whose template was built by trusted code."""
        if gc.codon is None:
            raise CodonDefinitionError("only codons can be registered")
        self._by_signature.setdefault(gc.signature, gc)

    def is_shipped(self, signature: bytes) -> bool:
        """True for a codon from the shipped files (not a literal made at run time)."""
        gc = self._by_signature.get(signature)
        return gc is not None and gc.codon is not None and self._by_name.get(gc.codon.name) is gc

    def __contains__(self, signature: object) -> bool:
        """True when `signature` is a registered codon."""
        return signature in self._by_signature

    def __iter__(self) -> Iterator[GeneticCode]:
        """Every codon, in definition order."""
        return iter(self._by_name.values())

    def __len__(self) -> int:
        """The number of shipped codons."""
        return len(self._by_name)

    def get(self, signature: bytes) -> GeneticCode | None:
        """The codon with this signature, or None."""
        return self._by_signature.get(signature)

    def by_name(self, name: str) -> GeneticCode:
        """The codon with this name; raises CodonDefinitionError naming it if unknown."""
        try:
            return self._by_name[name]
        except KeyError:
            raise CodonDefinitionError(f"unknown codon {name!r}") from None

    def spec(self, name: str) -> CodonSpec:
        """The definition the named codon came from."""
        return self._specs[name]

    def names(self) -> list[str]:
        """Every codon name, in definition order."""
        return list(self._by_name)


def shipped_codon_files() -> dict[str, str]:
    """The JSON text of every shipped codon family file, keyed by family name."""
    folder = resources.files("egp.genetic_code").joinpath("data/codons")
    return {
        entry.name.removesuffix(".json"): entry.read_text(encoding="utf-8")
        for entry in folder.iterdir()
        if entry.name.endswith(".json")
    }


@cache
def codon_registry() -> CodonRegistry:
    """The registry of the shipped codons (built once per process)."""
    return CodonRegistry(shipped_codon_files())


__all__ = [
    "DETERMINISTIC",
    "LITERAL",
    "SIDE_EFFECTS",
    "VECTORISABLE",
    "CodonDefinitionError",
    "CodonRegistry",
    "CodonSpec",
    "codon_registry",
    "shipped_codon_files",
]

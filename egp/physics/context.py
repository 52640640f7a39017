"""The runtime context a pGC runs in: randomness, the codons it may use, where new GCs go, and donors.

pGC codon templates call physics functions (`stack(...)`, `rewire(...)`, …) that find their context here: the
engine sets it (a context variable, so threads and nested calls stay separate) before it executes a pGC.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from egp.errors import EGPError
from egp.genetic_code.gc import ANONYMOUS_CREATOR, GeneticCode
from egp.genetic_code.properties import IS_PGC
from egp.genetic_code.types import is_compatible


class Stillborn(EGPError):  # noqa: N818  (the domain's word for an embryo that cannot live)
    """An embryo could not be stabilised (or a mutation had nothing to act on): counted, never stored."""


@dataclass
class PhysicsContext:
    """Everything a mutation needs besides its target."""

    rng: random.Random
    store: MutableMapping[bytes, GeneticCode]
    # The codons a target of each kind may be built from: the problem's function set for solutions, the
    # mutation codons for pGCs.
    solution_codons: Sequence[GeneticCode]
    pgc_codons: Sequence[GeneticCode]
    creator: UUID = ANONYMOUS_CREATOR
    pgc: bytes | None = None
    # Other GCs a crossover may take a sub-GC from (e.g. the island's population); called lazily.
    donors: Callable[[GeneticCode], Sequence[GeneticCode]] = field(default=lambda _target: ())
    # A building block from the Gene Pool (weighted by how useful blocks proved) whose first output feeds
    # the type given and whose inputs can all be fed from the source types given; None when none fits.
    draw_block: Callable[[random.Random, int, tuple[int, ...]], GeneticCode | None] = field(
        default=lambda _rng, _output, _available: None
    )
    max_codons: int = 256
    new_gcs: list[GeneticCode] = field(default_factory=list)
    # The creation time stamped on new GCs (None: now). Not part of a signature; the engine sets one per
    # generation instead of reading the clock for every node.
    created: datetime | None = None

    # Which donor (by signature) sits where in `donors(...)`, when the caller knows: crossover then avoids
    # rebuilding the donor list without the target for every use.
    donor_index: Mapping[bytes, int] | None = None
    # Codon lists by (kind, purpose, type), filtered once: mutations pick from them for every offspring.
    _choices: dict[tuple[Any, ...], list[GeneticCode]] = field(default_factory=dict, repr=False)

    def codons_for(self, target: GeneticCode) -> Sequence[GeneticCode]:
        """The codons that may appear in `target`'s kind of program."""
        return self.pgc_codons if target.properties & IS_PGC else self.solution_codons

    def codons_of(self, pgc_kind: bool) -> Sequence[GeneticCode]:
        """The codons of pGC programs (True) or of solutions (False)."""
        return self.pgc_codons if pgc_kind else self.solution_codons

    def functions(self, pgc_kind: bool) -> list[GeneticCode]:
        """The codons of that kind that take inputs, in definition order."""
        key = (pgc_kind, "functions")
        found = self._choices.get(key)
        if found is None:
            found = self._choices[key] = [c for c in self.codons_of(pgc_kind) if c.inputs]
        return found

    def producing(self, pgc_kind: bool, type_uid: int) -> list[GeneticCode]:
        """The codons of that kind with inputs whose first output can feed `type_uid`, in definition order."""
        key = (pgc_kind, "producing", type_uid)
        found = self._choices.get(key)
        if found is None:
            found = self._choices[key] = [
                c for c in self.codons_of(pgc_kind) if c.inputs and is_compatible(c.outputs[0], type_uid)
            ]
        return found

    def feeding(self, pgc_kind: bool, type_uid: int) -> list[GeneticCode]:
        """The codons of that kind (literals too) whose first output can feed `type_uid`, in order."""
        key = (pgc_kind, "feeding", type_uid)
        found = self._choices.get(key)
        if found is None:
            found = self._choices[key] = [
                c for c in self.codons_of(pgc_kind) if is_compatible(c.outputs[0], type_uid)
            ]
        return found

    def alike(self, pgc_kind: bool, codon: GeneticCode) -> list[GeneticCode]:
        """The other codons of that kind with exactly `codon`'s interface, in definition order."""
        key = (pgc_kind, "alike", codon.signature)
        found = self._choices.get(key)
        if found is None:
            inputs, outputs = codon.inputs, codon.outputs
            found = self._choices[key] = [
                c
                for c in self.codons_of(pgc_kind)
                if c.inputs == inputs and c.outputs == outputs and c.signature != codon.signature
            ]
        return found

    def keep(self, gc: GeneticCode) -> GeneticCode:
        """Put a newly made GC in the scratch store (once) and return the stored instance."""
        stored = self.store.get(gc.signature)
        if stored is None:
            self.store[gc.signature] = gc
            self.new_gcs.append(gc)
            return gc
        return stored


CURRENT: ContextVar[PhysicsContext] = ContextVar("egp_physics_context")


def current() -> PhysicsContext:
    """The context of the pGC being executed; raises Stillborn when physics runs outside the engine."""
    try:
        return CURRENT.get()
    except LookupError:
        raise Stillborn("physics called outside a pGC execution context") from None

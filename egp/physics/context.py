"""The runtime context a pGC runs in: randomness, the codons it may use, where new GCs go, and donors.

pGC codon templates call physics functions (`stack(...)`, `rewire(...)`, …) that find their context here: the
engine sets it (a context variable, so threads and nested calls stay separate) before it executes a pGC.
"""

from __future__ import annotations

import random
from collections.abc import Callable, MutableMapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from egp.errors import EGPError
from egp.genetic_code.gc import ANONYMOUS_CREATOR, GeneticCode


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
    # GCs from the Gene Pool matching an interface (inputs, outputs), strict to loose; for SSE insertion.
    interface_matches: Callable[[tuple[int, ...], tuple[int, ...]], Sequence[GeneticCode]] = field(
        default=lambda _inputs, _outputs: ()
    )
    max_codons: int = 256
    new_gcs: list[GeneticCode] = field(default_factory=list)
    # The creation time stamped on new GCs (None: now). Not part of a signature; the engine sets one per
    # generation instead of reading the clock for every node.
    created: datetime | None = None

    def codons_for(self, target: GeneticCode) -> Sequence[GeneticCode]:
        """The codons that may appear in `target`'s kind of program."""
        return self.pgc_codons if target.is_pgc else self.solution_codons

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

"""The mutations pGC codons may call, by name: `stack({i0})` in a codon template runs `stack` on the pGC's
input, in the context the engine set (egp.physics.context)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from egp.genetic_code.gc import GeneticCode
from egp.physics.blocks import inverse_stack_block, stack_block
from egp.physics.context import PhysicsContext, Stillborn, current
from egp.physics.mutations import (
    crossover,
    delete,
    harmony,
    insert_above_a,
    insert_above_b,
    insert_above_o,
    inverse_stack,
    perturb_literal,
    point_mutation,
    rewire,
    stack,
    wrap,
)

MUTATIONS: dict[str, Callable[[GeneticCode, PhysicsContext], GeneticCode]] = {
    "stack": stack,
    "inverse_stack": inverse_stack,
    "wrap": wrap,
    "harmony": harmony,
    "insert_above_a": insert_above_a,
    "insert_above_b": insert_above_b,
    "insert_above_o": insert_above_o,
    "crossover": crossover,
    "rewire": rewire,
    "delete": delete,
    "point_mutation": point_mutation,
    "perturb_literal": perturb_literal,
    "stack_block": stack_block,
    "inverse_stack_block": inverse_stack_block,
}


def _as_pgc_function(
    mutation: Callable[[GeneticCode, PhysicsContext], GeneticCode],
) -> Callable[[Any], GeneticCode]:
    """The mutation as a pGC codon calls it: on the template's input, in the current context."""

    def run(target: Any) -> GeneticCode:
        if not isinstance(target, GeneticCode):
            raise Stillborn("a pGC's input must be a stored GC")
        return mutation(target, current())

    run.__name__ = mutation.__name__
    run.__doc__ = mutation.__doc__
    return run


# The names pGC codon templates may call: `<name>({i0})` runs the mutation on the template's input.
PHYSICS_NAMES: dict[str, Callable[[Any], GeneticCode]] = {
    name: _as_pgc_function(function) for name, function in MUTATIONS.items()
}

"""Shared helpers for the physics tests: function sets, random target GCs, contexts and offspring checks.

Random targets are assembled with `random_expression` + `Assembler` over four function sets — Koza's float
set, the even-parity bool set, an int set with comparisons and selects (so int/bool downcasts can arise), and
pGCs built from the mutation codons themselves — and solution targets are sometimes wrapped in an IF_THEN or
IF_THEN_ELSE graph so conditional graphs are mutated too.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from egp.genetic_code.assembly import Assembler, random_expression
from egp.genetic_code.codons import codon_registry
from egp.genetic_code.execution import Executor
from egp.genetic_code.gc import GeneticCode, build_gc
from egp.genetic_code.graph import Row, make_graph
from egp.genetic_code.properties import CGraphType
from egp.genetic_code.serialization import from_json, to_json
from egp.genetic_code.types import TYPES
from egp.physics.context import CURRENT, PhysicsContext, Stillborn

REGISTRY = codon_registry()
FLOAT, INT, BOOL = TYPES.uid("float"), TYPES.uid("int"), TYPES.uid("bool")
GCABC, EGCODE = TYPES.uid("GCABC"), TYPES.uid("EGCode")
REAL, NUMBER = TYPES.uid("Real"), TYPES.uid("Number")
PGC_CODONS = [c for c in REGISTRY if c.is_pgc]
# A pGC identity for the contexts of these tests (any 32 bytes: lineage only records it).
TEST_PGC = bytes(range(32))


@dataclass(frozen=True)
class FunctionSet:
    """Function codons, literal terminals, the input types and the output type of random targets."""

    functions: tuple[str, ...]
    terminals: tuple[str, ...]
    inputs: tuple[int, ...]
    output: int
    conditional: bool  # whether targets may be wrapped in IF_THEN / IF_THEN_ELSE (needs a bool input 0)

    def codons(self) -> list[GeneticCode]:
        """The function codons."""
        return [REGISTRY.by_name(n) for n in self.functions]

    def literals(self) -> list[GeneticCode]:
        """The terminal codons."""
        return [REGISTRY.by_name(n) for n in self.terminals]


FUNCTION_SETS: dict[str, FunctionSet] = {
    "koza_float": FunctionSet(
        ("float_add", "float_sub", "float_mul", "float_pdiv", "float_neg", "float_psin", "float_pcos"),
        ("lit_float_1", "lit_float_0_5", "lit_float_m1"),
        (FLOAT,),
        FLOAT,
        False,
    ),
    "bool_parity": FunctionSet(
        ("bool_and", "bool_or", "bool_nand", "bool_nor"),
        ("lit_bool_true",),
        (BOOL, BOOL, BOOL),
        BOOL,
        True,
    ),
    "int": FunctionSet(
        ("int_add", "int_sub", "int_mul", "int_neg", "int_lt", "int_select", "bool_to_int", "bool_and"),
        ("lit_int_1", "lit_int_2", "lit_bool_false"),
        (BOOL, INT, INT),
        INT,
        True,
    ),
    "pgc": FunctionSet(tuple(c.codon.name for c in PGC_CODONS if c.codon), (), (GCABC,), EGCODE, False),
}


def lookup(store: Mapping[bytes, GeneticCode], signature: bytes) -> GeneticCode:
    """A GC from the store or a codon from the registry."""
    gc = store.get(signature) or REGISTRY.get(signature)
    assert gc is not None, f"{signature.hex()} is neither stored nor a codon"
    return gc


def random_target(
    rng: random.Random, fset: FunctionSet, store: dict[bytes, GeneticCode], max_codons: int = 6
) -> GeneticCode:
    """A random valid GC over `fset` (sometimes a conditional graph), stored in `store`."""
    assembler = Assembler(store, fset.inputs)
    filler = fset.literals()[0] if fset.terminals else None
    for _ in range(100):
        try:
            expr = random_expression(
                rng, fset.codons(), fset.inputs, fset.output, rng.randint(2, max_codons), fset.literals()
            )
            body = assembler.assemble(expr, filler)
        except ValueError:
            continue
        if fset.conditional and rng.random() < 0.3:
            return _conditional(rng, fset, body, store, assembler, filler)
        return body
    raise AssertionError("could not assemble a random target")


def _conditional(
    rng: random.Random,
    fset: FunctionSet,
    body: GeneticCode,
    store: dict[bytes, GeneticCode],
    assembler: Assembler,
    filler: GeneticCode | None,
) -> GeneticCode:
    """IF_THEN (if I0 then body else an input) or IF_THEN_ELSE (if I0 then body else another random GC)."""
    inputs = list(fset.inputs)
    alternates = [k for k, t in enumerate(inputs) if t == fset.output]
    if rng.random() < 0.5 and alternates:
        graph = make_graph(
            CGraphType.IF_THEN,
            inputs,
            {Row.F: [BOOL], Row.A: body.inputs, Row.O: [fset.output], Row.P: [fset.output]},
            {
                Row.F: [(Row.I, 0)],
                Row.A: [(Row.I, k) for k in range(len(inputs))],
                Row.O: [(Row.A, 0)],
                Row.P: [(Row.I, rng.choice(alternates))],
            },
            {Row.A: body.outputs},
        )
        gc = build_gc(graph, body, None)
    else:
        expr = random_expression(rng, fset.codons(), fset.inputs, fset.output, 2, fset.literals())
        other = assembler.assemble(expr, filler)
        graph = make_graph(
            CGraphType.IF_THEN_ELSE,
            inputs,
            {
                Row.F: [BOOL],
                Row.A: body.inputs,
                Row.B: other.inputs,
                Row.O: [fset.output],
                Row.P: [fset.output],
            },
            {
                Row.F: [(Row.I, 0)],
                Row.A: [(Row.I, k) for k in range(len(inputs))],
                Row.B: [(Row.I, k) for k in range(len(inputs))],
                Row.O: [(Row.A, 0)],
                Row.P: [(Row.B, 0)],
            },
            {Row.A: body.outputs, Row.B: other.outputs},
        )
        gc = build_gc(graph, body, other)
    return store.setdefault(gc.signature, gc)


def make_context(
    fset: FunctionSet,
    store: dict[bytes, GeneticCode],
    seed: int,
    donors: Sequence[GeneticCode] = (),
    max_codons: int = 256,
) -> PhysicsContext:
    """A physics context over `store` with the set's codons as the solution codons."""
    return PhysicsContext(
        rng=random.Random(seed),
        store=store,
        solution_codons=[*fset.codons(), *fset.literals()],
        pgc_codons=PGC_CODONS,
        pgc=TEST_PGC,
        donors=lambda _target: list(donors),
        max_codons=max_codons,
    )


def sub_gcs_first(gc: GeneticCode, store: Mapping[bytes, GeneticCode]) -> list[GeneticCode]:
    """Every GC reachable from `gc` (codons included), each once, sub-GCs before the GCs that use them."""
    order: list[GeneticCode] = []
    seen: set[bytes] = set()

    def visit(node: GeneticCode) -> None:
        if node.signature in seen:
            return
        seen.add(node.signature)
        for ref in (node.gca, node.gcb):
            if ref is not None:
                visit(lookup(store, ref))
        order.append(node)

    visit(gc)
    return order


def json_round_trip(gc: GeneticCode, store: Mapping[bytes, GeneticCode]) -> None:
    """Every GC of `gc`'s DAG validates via to_json → JSON text → from_json into a fresh store, exactly."""
    fresh: dict[bytes, GeneticCode] = {}
    for node in sub_gcs_first(gc, store):
        text = json.dumps(to_json(node))
        back = from_json(json.loads(text), fresh)
        assert back.signature == node.signature
        assert json.dumps(to_json(back)) == text
        if back.codon is None:
            fresh[back.signature] = back


def sample_inputs(types: Sequence[int]) -> tuple[list[Any], list[Any]]:
    """Vectorised (numpy columns) and scalar sample inputs for a solution interface."""
    columns: list[Any] = []
    scalars: list[Any] = []
    for t in types:
        if t == FLOAT:
            columns.append(np.array([0.5, -1.25, 2.0, 0.0]))
            scalars.append(0.75)
        elif t == INT:
            columns.append(np.array([3, -2, 0, 7], dtype=np.int64))
            scalars.append(5)
        else:
            columns.append(np.array([True, False, True, False]))
            scalars.append(True)
    return columns, scalars


def run_pgc(pgc: GeneticCode, target: GeneticCode, ctx: PhysicsContext) -> GeneticCode | None:
    """Execute a pGC on `target` the way the engine does; None when the offspring is stillborn."""
    token = CURRENT.set(ctx)
    try:
        result = Executor(ctx.store).evaluate(pgc, [target])[0]
    except Stillborn:
        return None
    finally:
        CURRENT.reset(token)
    assert isinstance(result, GeneticCode)
    return result

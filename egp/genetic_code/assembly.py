"""Building GCs from expression trees: how random programs, tests and benchmarks assemble typed GC DAGs.

An expression tree (a codon applied to sub-expressions, with the GC's inputs and literal codons as leaves) is
turned into STANDARD graphs bottom-up: a codon whose arguments are all inputs is used as it is, wired from
row I; otherwise its non-input arguments are bundled side by side into one GC (A) whose outputs feed the
codon (B).
Every composite has the full input interface, so the result has exactly the requested inputs and one output.
"""

from __future__ import annotations

import random
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass
from uuid import UUID

from egp.genetic_code.gc import ANONYMOUS_CREATOR, GeneticCode, build_gc
from egp.genetic_code.graph import Connection, Row, make_graph
from egp.genetic_code.properties import CGraphType
from egp.genetic_code.types import is_compatible


@dataclass(frozen=True, slots=True)
class Expr:
    """An expression node: `codon` applied to `args`, or (codon None) the GC input number `input_index`."""

    codon: GeneticCode | None
    args: tuple[Expr, ...] = ()
    input_index: int = -1

    @property
    def size(self) -> int:
        """Number of codon instances in the expression."""
        return (1 if self.codon is not None else 0) + sum(a.size for a in self.args)


class Assembler:
    """Assembles GCs with a fixed input interface from expressions, storing every new GC in `store`."""

    def __init__(
        self,
        store: MutableMapping[bytes, GeneticCode],
        inputs: Sequence[int],
        creator: UUID = ANONYMOUS_CREATOR,
    ) -> None:
        """An assembler for GCs whose row I has the types `inputs`."""
        self.store = store
        self.inputs = tuple(inputs)
        self.creator = creator

    def _keep(self, gc: GeneticCode) -> GeneticCode:
        return self.store.setdefault(gc.signature, gc)

    def _standard(
        self,
        gca: GeneticCode,
        a_conns: list[Connection],
        gcb: GeneticCode,
        b_conns: list[Connection],
        out_conns: list[Connection],
        out_types: list[int],
    ) -> GeneticCode:
        graph = make_graph(
            CGraphType.STANDARD,
            self.inputs,
            {Row.A: gca.inputs, Row.B: gcb.inputs, Row.O: out_types},
            {Row.A: a_conns, Row.B: b_conns, Row.O: out_conns},
            {Row.A: gca.outputs, Row.B: gcb.outputs},
        )
        return self._keep(build_gc(graph, gca, gcb, creator=self.creator))

    def _part(self, expr: Expr) -> tuple[GeneticCode, list[Connection]]:
        """A GC computing `expr` and the row-I connections that feed its inputs."""
        codon = expr.codon
        assert codon is not None
        if all(arg.codon is None for arg in expr.args):
            return codon, [(Row.I, arg.input_index) for arg in expr.args]
        return self._build(expr), [(Row.I, k) for k in range(len(self.inputs))]

    def _build(self, expr: Expr) -> GeneticCode:
        """A GC with the full input interface computing `expr` (which has at least one codon argument)."""
        codon = expr.codon
        assert codon is not None
        computed = [arg for arg in expr.args if arg.codon is not None]
        parts = [self._part(arg) for arg in computed]
        bundle, bundle_conns = parts[0]
        for gc, conns in parts[1:]:
            # Side by side: the new bundle's outputs are the previous bundle's, then this part's.
            out_conns = [(Row.A, k) for k in range(len(bundle.outputs))] + [(Row.B, 0)]
            bundle = self._standard(
                bundle, bundle_conns, gc, conns, out_conns, [*bundle.outputs, gc.outputs[0]]
            )
            bundle_conns = [(Row.I, k) for k in range(len(self.inputs))]
        b_conns: list[Connection] = []
        position = 0
        for arg in expr.args:
            if arg.codon is None:
                b_conns.append((Row.I, arg.input_index))
            else:
                b_conns.append((Row.A, position))
                position += 1
        return self._standard(bundle, bundle_conns, codon, b_conns, [(Row.B, 0)], [codon.outputs[0]])

    def assemble(self, expr: Expr, filler: GeneticCode | None = None) -> GeneticCode:
        """The GC computing `expr`; a lone codon on inputs is wrapped with an unused `filler` codon as B."""
        if expr.codon is None:
            raise ValueError("an expression that is only an input has no codon to assemble")
        if any(arg.codon is not None for arg in expr.args):
            return self._build(expr)
        gc, conns = self._part(expr)
        if filler is None:
            raise ValueError("a single codon on the inputs needs a filler codon to make a STANDARD graph")
        # STANDARD graphs have both A and B: a zero-input filler (a literal) whose output is unused.
        return self._standard(gc, conns, filler, [], [(Row.A, 0)], [gc.outputs[0]])


def random_expression(
    rng: random.Random,
    functions: Sequence[GeneticCode],
    inputs: Sequence[int],
    output: int,
    n_codons: int,
    terminals: Sequence[GeneticCode] = (),
) -> Expr:
    """A random well-typed expression with exactly `n_codons` function codons (plus any literal leaves)."""

    def leaf(type_uid: int) -> Expr:
        candidates: list[Expr] = [
            Expr(None, (), k) for k, t in enumerate(inputs) if is_compatible(t, type_uid)
        ]
        candidates += [Expr(c) for c in terminals if is_compatible(c.outputs[0], type_uid)]
        if not candidates:
            raise ValueError("no input or literal can supply the required type")
        return rng.choice(candidates)

    def grow(size: int, type_uid: int) -> Expr:
        if size == 0:
            return leaf(type_uid)
        options = [f for f in functions if is_compatible(f.outputs[0], type_uid) and f.inputs]
        if not options:
            raise ValueError("no function codon produces the required type")
        codon = rng.choice(options)
        arity = len(codon.inputs)
        cuts = sorted(rng.randint(0, size - 1) for _ in range(arity - 1))
        shares = [b - a for a, b in zip([0, *cuts], [*cuts, size - 1], strict=True)]
        return Expr(codon, tuple(grow(s, t) for s, t in zip(shares, codon.inputs, strict=True)))

    return grow(n_codons, output)

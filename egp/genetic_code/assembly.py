"""Building GCs from expression trees: how random programs, tests and benchmarks assemble typed GC DAGs.

An expression tree (a codon applied to sub-expressions, with the GC's inputs and literal codons as leaves) is
turned into STANDARD graphs bottom-up: a codon whose arguments are all inputs is used as it is, wired from
row I; otherwise its non-input arguments are bundled side by side into one GC (A) whose outputs feed the
codon (B).
Every composite has the full input interface, so the result has exactly the requested inputs and one output.
"""

from __future__ import annotations

import random
import weakref
from collections.abc import Callable, MutableMapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple, cast
from uuid import UUID

from egp.genetic_code.gc import ANONYMOUS_CREATOR, GeneticCode, build_gc
from egp.genetic_code.graph import ROW_A, ROW_B, ROW_I, ROW_O, Connection, make_graph
from egp.genetic_code.properties import CGraphType
from egp.genetic_code.types import is_compatible


class Expr(NamedTuple):
    """An expression node: `codon` applied to `args`, or (codon None) the GC input number `input_index`.

    A tuple: random expressions are built by the thousand for every initial population.
    """

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
        created: datetime | None = None,
    ) -> None:
        """An assembler for GCs whose row I has the types `inputs` (stamped `created`, or now)."""
        self.store = store
        self.inputs = tuple(inputs)
        self.creator = creator
        self.created = created
        self._all_inputs = [(ROW_I, k) for k in range(len(self.inputs))]
        self._built: dict[tuple[object, ...], GeneticCode] = {}

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
        # Random expressions repeat small parts endlessly (x*x, x+x, ...): a part already built is the same
        # GC again (no lineage, same creator), so it is looked up before its graph and signature are made.
        key = (gca.signature, tuple(a_conns), gcb.signature, tuple(b_conns), tuple(out_conns))
        built = self._built.get(key)
        if built is not None:
            return built
        graph = make_graph(
            CGraphType.STANDARD,
            self.inputs,
            {ROW_A: gca.inputs, ROW_B: gcb.inputs, ROW_O: out_types},
            {ROW_A: a_conns, ROW_B: b_conns, ROW_O: out_conns},
            {ROW_A: gca.outputs, ROW_B: gcb.outputs},
        )
        built = self._built[key] = self._keep(
            build_gc(graph, gca, gcb, creator=self.creator, created=self.created)
        )
        return built

    def _part(self, expr: Expr) -> tuple[GeneticCode, list[Connection]]:
        """A GC computing `expr` and the row-I connections that feed its inputs."""
        codon = expr.codon
        assert codon is not None
        if all(arg.codon is None for arg in expr.args):
            return codon, [(ROW_I, arg.input_index) for arg in expr.args]
        return self._build(expr), list(self._all_inputs)

    def _build(self, expr: Expr) -> GeneticCode:
        """A GC with the full input interface computing `expr` (which has at least one codon argument)."""
        codon = expr.codon
        assert codon is not None
        computed = [arg for arg in expr.args if arg.codon is not None]
        parts = [self._part(arg) for arg in computed]
        bundle, bundle_conns = parts[0]
        for gc, conns in parts[1:]:
            # Side by side: the new bundle's outputs are the previous bundle's, then this part's.
            out_conns = [(ROW_A, k) for k in range(len(bundle.outputs))] + [(ROW_B, 0)]
            bundle = self._standard(
                bundle, bundle_conns, gc, conns, out_conns, [*bundle.outputs, gc.outputs[0]]
            )
            bundle_conns = list(self._all_inputs)
        b_conns: list[Connection] = []
        position = 0
        for arg in expr.args:
            if arg.codon is None:
                b_conns.append((ROW_I, arg.input_index))
            else:
                b_conns.append((ROW_A, position))
                position += 1
        return self._standard(bundle, bundle_conns, codon, b_conns, [(ROW_B, 0)], [codon.outputs[0]])

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
        return self._standard(gc, conns, filler, [], [(ROW_A, 0)], [gc.outputs[0]])


def random_expression(
    rng: random.Random,
    functions: Sequence[GeneticCode],
    inputs: Sequence[int],
    output: int,
    n_codons: int,
    terminals: Sequence[GeneticCode] = (),
) -> Expr:
    """A random well-typed expression with exactly `n_codons` function codons (plus any literal leaves)."""
    return ExpressionMaker(functions, inputs, terminals).make(rng, output, n_codons)


class ExpressionMaker:
    """Makes random well-typed expressions from a fixed function set, inputs and literals.

    The codons that can produce each type, and the leaves that can supply it, are listed once per type
    (in definition order, so the draws are those of filtering the sets anew each time).
    """

    def __init__(
        self, functions: Sequence[GeneticCode], inputs: Sequence[int], terminals: Sequence[GeneticCode] = ()
    ) -> None:
        """A maker over these codons (those with inputs are used), input types and literal codons."""
        self.functions = list(functions)
        self.inputs = tuple(inputs)
        self.terminals = list(terminals)
        self._options: dict[int, list[GeneticCode]] = {}
        self._leaves: dict[int, list[Expr]] = {}

    def _options_for(self, type_uid: int) -> list[GeneticCode]:
        found = self._options.get(type_uid)
        if found is None:
            found = self._options[type_uid] = [
                f for f in self.functions if is_compatible(f.outputs[0], type_uid) and f.inputs
            ]
        return found

    def _leaves_for(self, type_uid: int) -> list[Expr]:
        found = self._leaves.get(type_uid)
        if found is None:
            found = [Expr(None, (), k) for k, t in enumerate(self.inputs) if is_compatible(t, type_uid)]
            found += [Expr(c) for c in self.terminals if is_compatible(c.outputs[0], type_uid)]
            self._leaves[type_uid] = found
        return found

    def make(self, rng: random.Random, output: int, n_codons: int) -> Expr:
        """A random expression of type `output` with exactly `n_codons` function codons."""
        # rng.choice(seq) is seq[_randbelow(len(seq))] and randint(0, n - 1) is _randbelow(n): the same draws
        # as the plain spelling, without their argument checks (this runs for every spontaneous GC).
        randbelow: Callable[[int], int] = rng._randbelow  # type: ignore[attr-defined]
        options_for = self._options_for
        leaves_for = self._leaves_for
        # Expr's own __new__ is Python code (a NamedTuple's): tuple.__new__ builds the same tuple directly.
        new_expr = cast("Callable[[type[Expr], tuple[Any, ...]], Expr]", tuple.__new__)

        def grow(size: int, type_uid: int) -> Expr:
            if size == 0:
                leaves = leaves_for(type_uid)
                if not leaves:
                    raise ValueError("no input or literal can supply the required type")
                return leaves[randbelow(len(leaves))]
            options = options_for(type_uid)
            if not options:
                raise ValueError("no function codon produces the required type")
            codon = options[randbelow(len(options))]
            codon_inputs = codon.inputs
            arity = len(codon_inputs)
            if arity == 1:
                return new_expr(Expr, (codon, (recurse(size - 1, codon_inputs[0]),), -1))
            if arity == 2:
                cut = randbelow(size)
                args: tuple[Expr, ...] = (
                    recurse(cut, codon_inputs[0]),
                    recurse(size - 1 - cut, codon_inputs[1]),
                )
                return new_expr(Expr, (codon, args, -1))
            cuts = sorted([randbelow(size) for _ in range(arity - 1)])
            shares = [b - a for a, b in zip([0, *cuts], [*cuts, size - 1], strict=True)]
            args = tuple([recurse(s, t) for s, t in zip(shares, codon_inputs, strict=True)])
            return new_expr(Expr, (codon, args, -1))

        recurse = weakref.proxy(grow)  # not grow itself: a closure naming itself is a reference cycle

        return grow(n_codons, output)

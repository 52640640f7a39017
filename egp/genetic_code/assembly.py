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
from datetime import UTC, datetime
from typing import Any, NamedTuple
from uuid import UUID

from egp.genetic_code.gc import ANONYMOUS_CREATOR, GeneticCode, build_standard_gc
from egp.genetic_code.graph import ROW_A, ROW_B, ROW_I, ROW_O, Connection, ConnectionGraph, make_graph
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
        self._all_inputs = tuple([(ROW_I, k) for k in range(len(self.inputs))])
        self._built: dict[tuple[object, ...], GeneticCode] = {}
        self._graphs: dict[tuple[object, ...], ConnectionGraph] = {}

    def __len__(self) -> int:
        """How many parts this assembler remembers."""
        return len(self._built)

    def _keep(self, gc: GeneticCode) -> GeneticCode:
        return self.store.setdefault(gc.signature, gc)

    def _standard(
        self,
        gca: GeneticCode,
        a_conns: tuple[Connection, ...],
        gcb: GeneticCode,
        b_conns: tuple[Connection, ...],
        out_conns: tuple[Connection, ...],
        out_types: tuple[int, ...],
    ) -> GeneticCode:
        # Random expressions repeat small parts endlessly (x*x, x+x, ...): a part already built is the same
        # GC again (no lineage, same creator), so it is looked up before its graph and signature are made.
        a_sig, b_sig = gca.signature, gcb.signature
        key = (a_sig, a_conns, b_sig, b_conns, out_conns)
        built = self._built.get(key)
        if built is not None:
            return built
        a_graph, b_graph = gca.graph, gcb.graph
        # Far fewer graphs than parts: one graph serves every part whose sub-GCs have these interfaces and
        # wiring, so it is found by those before make_graph builds (or finds) it from its rows.
        graph_key = (a_graph.inputs, a_graph.out_types, b_graph.inputs, b_graph.out_types, key[1:], out_types)
        graph = self._graphs.get(graph_key)
        if graph is None:
            graph = self._graphs[graph_key] = make_graph(
                CGraphType.STANDARD,
                self.inputs,
                {ROW_A: a_graph.inputs, ROW_B: b_graph.inputs, ROW_O: out_types},
                {ROW_A: a_conns, ROW_B: b_conns, ROW_O: out_conns},
                {ROW_A: a_graph.out_types, ROW_B: b_graph.out_types},
            )
        built = self._built[key] = self._keep(
            build_standard_gc(graph, gca, gcb, self.creator, self.created or datetime.now(UTC))
        )
        return built

    def _part(self, expr: Expr) -> _Part:
        """A GC computing `expr` and the row-I connections that feed its inputs."""
        codon = expr.codon
        assert codon is not None
        args = [(None, arg.input_index) if arg.codon is None else self._part(arg) for arg in expr.args]
        return self._apply(codon, args)

    def _apply(self, codon: GeneticCode, args: Sequence[_Arg]) -> _Part:
        """The part computing `codon` on `args` (inputs by index, or parts): the codon itself, wired from row
        I, when every argument is an input; otherwise a GC with the full input interface."""
        # Plain loops, not all(<generator>) and a comprehension: this runs for every node of every
        # spontaneous GC.
        for gc, _ in args:
            if gc is not None:
                return self._build(codon, args), self._all_inputs
        return codon, tuple([(ROW_I, index) for _, index in args])

    def _build(self, codon: GeneticCode, args: Sequence[_Arg]) -> GeneticCode:
        """A GC with the full input interface computing `codon` on `args` (at least one of them a part)."""
        parts = [(gc, conns) for gc, conns in args if gc is not None]
        bundle, bundle_conns = parts[0]
        for gc, conns in parts[1:]:
            # Side by side: the new bundle's outputs are the previous bundle's, then this part's.
            bundle_outputs = bundle.graph.out_types
            out_conns = (*[(ROW_A, k) for k in range(len(bundle_outputs))], (ROW_B, 0))
            bundle = self._standard(
                bundle, bundle_conns, gc, conns, out_conns, (*bundle_outputs, gc.graph.out_types[0])
            )
            bundle_conns = self._all_inputs
        b_conns: list[Connection] = []
        position = 0
        for part, index in args:
            if part is None:
                b_conns.append((ROW_I, index))
            else:
                b_conns.append((ROW_A, position))
                position += 1
        return self._standard(
            bundle, bundle_conns, codon, tuple(b_conns), ((ROW_B, 0),), (codon.graph.out_types[0],)
        )

    def _finish(self, part: _Part, filler: GeneticCode | None) -> GeneticCode:
        """The GC of a whole expression's part; a lone codon on inputs is wrapped with an unused `filler`."""
        gc, conns = part
        # A built part takes all the inputs in order; a lone multi-codon function (a learned block) on some
        # of them is wrapped like a lone codon.
        if gc.codon is None and tuple(conns) == tuple(self._all_inputs):
            return gc
        if filler is None:
            raise ValueError("a single codon on the inputs needs a filler codon to make a STANDARD graph")
        # STANDARD graphs have both A and B: a zero-input filler (a literal) whose output is unused.
        return self._standard(gc, conns, filler, (), ((ROW_A, 0),), (gc.graph.out_types[0],))

    def assemble(self, expr: Expr, filler: GeneticCode | None = None) -> GeneticCode:
        """The GC computing `expr`; a lone codon on inputs is wrapped with an unused `filler` codon as B."""
        if expr.codon is None:
            raise ValueError("an expression that is only an input has no codon to assemble")
        return self._finish(self._part(expr), filler)

    def random_gc(
        self,
        maker: ExpressionMaker,
        rng: random.Random,
        output: int,
        n_codons: int,
        filler: GeneticCode | None = None,
    ) -> GeneticCode:
        """`assemble(maker.make(rng, output, n_codons), filler)` without the expression: the same draws and
        the same GC, each part built as soon as its arguments are (spontaneous assembly's hot path)."""
        if n_codons < 1:
            raise ValueError("an expression that is only an input has no codon to assemble")
        return self._finish(maker.grow_parts(rng, output, n_codons, self._apply), filler)


# An argument of a codon while assembling: (None, input index) for a GC input, or a part (GC, row-I
# connections feeding it).
_Part = tuple[GeneticCode, tuple[Connection, ...]]
_Arg = tuple[GeneticCode | None, Any]


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
        self._leaf_parts: dict[int, list[Any]] = {}

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

    def _leaf_parts_for(self, type_uid: int) -> list[Any]:
        """The leaves of `type_uid` as assembly arguments: (None, input index) or (literal codon, ())."""
        found = self._leaf_parts.get(type_uid)
        if found is None:
            found = [
                (None, e.input_index) if e.codon is None else (e.codon, ())
                for e in self._leaves_for(type_uid)
            ]
            self._leaf_parts[type_uid] = found
        return found

    def make(self, rng: random.Random, output: int, n_codons: int) -> Expr:
        """A random expression of type `output` with exactly `n_codons` function codons."""
        # Expr's own __new__ is Python code (a NamedTuple's): tuple.__new__ builds the same tuple directly.
        new_expr = tuple.__new__
        expr: Expr = self._grow(
            rng, output, n_codons, self._leaves_for, lambda c, a: new_expr(Expr, (c, a, -1))
        )
        return expr

    def grow_parts(
        self,
        rng: random.Random,
        output: int,
        n_codons: int,
        apply: Callable[[GeneticCode, Sequence[Any]], Any],
    ) -> Any:
        """What `make` would draw, each node handed to `apply(codon, arguments)` as soon as its arguments are
        made; leaves are (None, input index) for an input and (literal codon, ()) for a literal."""
        return self._grow(rng, output, n_codons, self._leaf_parts_for, apply)

    def _grow(
        self,
        rng: random.Random,
        output: int,
        n_codons: int,
        leaves_for: Callable[[int], list[Any]],
        node: Callable[[GeneticCode, tuple[Any, ...]], Any],
    ) -> Any:
        """A random tree of type `output` with exactly `n_codons` function codons: leaves from `leaves_for`,
        nodes made by `node(codon, arguments)`, children drawn in argument order after the node's draws."""
        # rng.choice(seq) is seq[_randbelow(len(seq))] and randint(0, n - 1) is _randbelow(n): the same draws
        # as the plain spelling, without their argument checks (this runs for every spontaneous GC).
        randbelow: Callable[[int], int] = rng._randbelow  # type: ignore[attr-defined]
        options_for = self._options_for

        def grow(size: int, type_uid: int) -> Any:
            if size == 0:
                leaves = leaves_for(type_uid)
                if not leaves:
                    raise ValueError("no input or literal can supply the required type")
                return leaves[randbelow(len(leaves))]
            options = options_for(type_uid)
            if not options:
                raise ValueError("no function codon produces the required type")
            codon = options[randbelow(len(options))]
            codon_inputs = codon.graph.inputs
            arity = len(codon_inputs)
            if arity == 1:
                return node(codon, (recurse(size - 1, codon_inputs[0]),))
            if arity == 2:
                cut = randbelow(size)
                return node(codon, (recurse(cut, codon_inputs[0]), recurse(size - 1 - cut, codon_inputs[1])))
            cuts = sorted([randbelow(size) for _ in range(arity - 1)])
            shares = [b - a for a, b in zip([0, *cuts], [*cuts, size - 1], strict=True)]
            return node(codon, tuple([recurse(s, t) for s, t in zip(shares, codon_inputs, strict=True)]))

        recurse = weakref.proxy(grow)  # not grow itself: a closure naming itself is a reference cycle

        return grow(n_codons, output)

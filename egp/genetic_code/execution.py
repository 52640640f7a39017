"""Making GCs executable from the trusted codon registry only.

A GC is data: a DAG of sub-GCs whose leaves name codons. To run it, it is *flattened* into a straight-line
program over numbered slots (inputs first, then one slot per codon output), with pass-through connections
resolved to slot aliases and dead code (codons whose outputs reach no output) dropped. That flat program runs
two ways behind one interface:

* **vectorised** — a small interpreter calls each codon's precompiled function once over numpy arrays holding
  every fitness case (no `compile()` per GC: a GC that is new costs only its flattening);
* **scalar** — the flat program is rendered as Python source and compiled once per signature; the function is
  then called per case. `source(gc)` returns the same code as readable Python a user can run.

Both are cached by signature in the executor's L1 cache, bounded by a byte budget; a shared sub-GC is
flattened once and reused. Runtime errors are the caller's to catch (`safe_call`): they mean a failed
evaluation, never a crashed process.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from egp.genetic_code.codon_functions import codon_format, codon_function, render
from egp.genetic_code.codon_runtime import RUNTIME_NAMES, quiet_numpy
from egp.genetic_code.codons import CodonRegistry, codon_registry
from egp.genetic_code.gc import GeneticCode
from egp.genetic_code.graph import (
    PLAN_A,
    PLAN_B,
    PLAN_F,
    PLAN_O,
    PLAN_P,
    ROW_A,
    ROW_B,
    ROW_F,
    ROW_I,
    ROW_O,
    ROW_P,
    Row,
)
from egp.genetic_code.lru import CountingLRUCache
from egp.genetic_code.properties import CGraphType

SELECT = "select"  # runtime helper used for the outputs of conditional graphs
_MAX_EXPRESSION = 20_000  # characters of inlined expression before falling back to statements


@dataclass(frozen=True, slots=True)
class Op:
    """One step of a flat program: call `fn` (a codon template) on `args` slots, write `out` slot(s)."""

    fn: Callable[..., Any]
    args: tuple[int, ...]
    out: tuple[int, ...]
    template: str
    arity: int


@dataclass(frozen=True, slots=True)
class FlatProgram:
    """A GC as straight-line code over slots: inputs are slots 0..n_inputs-1."""

    n_inputs: int
    n_slots: int
    ops: tuple[Op, ...]
    outputs: tuple[int, ...]

    def approximate_bytes(self) -> int:
        """A rough memory cost, used to keep the L1 cache within its byte budget."""
        return 200 + 120 * len(self.ops) + 8 * len(self.outputs)


# The walker indexes plan rows by these positions directly.
assert (PLAN_A, PLAN_B, PLAN_O, PLAN_F, PLAN_P) == (0, 1, 2, 3, 4)

_SELECT_FN = cast("Callable[..., Any]", RUNTIME_NAMES[SELECT])
_Inliner = Callable[[GeneticCode, list[str], list[int]], list[str] | None]


def _lookup_in(
    store_get: Callable[[bytes], GeneticCode | None], registry: CodonRegistry
) -> Callable[[bytes], GeneticCode]:
    """A function finding a GC in a store, or a codon in the registry; KeyError if neither has it."""

    def lookup(signature: bytes) -> GeneticCode:
        gc = store_get(signature)
        if gc is None:
            gc = registry.get(signature)
            if gc is None:
                raise KeyError(f"GC {signature.hex()} is neither stored nor a registered codon")
        return gc

    return lookup


def _codon_caller(
    single_output: dict[bytes, Callable[..., Any]],
) -> Callable[[GeneticCode, list[Any]], list[Any]]:
    """A function calling a codon on arguments, noting single-output codons in `single_output` (inlined)."""

    def call_codon(codon: GeneticCode, args: list[Any]) -> list[Any]:
        codon_fn = codon_function(codon)[0]
        if len(codon.outputs) == 1:
            single_output[codon.signature] = codon_fn
            return [codon_fn(*args)]
        return list(codon_fn(*args))

    return call_codon


class Executor:
    """Prepares and runs GCs from one store of stored GCs, caching prepared forms by signature (L1)."""

    def __init__(self, store: Mapping[bytes, GeneticCode], l1_budget_bytes: int = 1_000_000) -> None:
        """An executor over `store` (signature → GC) with an L1 cache of `l1_budget_bytes`."""
        self.store = store
        self._store_get = store.get
        self._registry = codon_registry()
        self._single_output: dict[bytes, Callable[..., Any]] = {}
        self._namespace: dict[str, Any] = dict(RUNTIME_NAMES)
        self._formats: dict[bytes, str] = {}
        # The hot-path helpers are closures over the executor's dictionaries, never over the executor itself:
        # a closure stored on the object it refers to is a reference cycle, and the cycle would keep the whole
        # store alive until the cyclic garbage collector found it (the engine runs with it paused).
        self._lookup: Callable[[bytes], GeneticCode] = _lookup_in(self._store_get, self._registry)
        self._call_codon: Callable[[GeneticCode, list[Any]], list[Any]] = _codon_caller(self._single_output)
        self._walk = self._make_walker()
        self._inline, self._expressions = self._make_inliner()
        self.l1 = CountingLRUCache(l1_budget_bytes, getsizeof=FlatProgram.approximate_bytes)
        # Compiled functions by signature: bounded by count (their size is not known), scaled with the L1.
        self._scalar = CountingLRUCache(max(64, l1_budget_bytes // 4000))

    # -- flattening ---------------------------------------------------------------------------------------
    def flat(self, gc: GeneticCode) -> FlatProgram:
        """The flat program of `gc`, from the L1 cache or built (and cached) now."""
        cached = self.l1.get(gc.signature)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        ops: list[Op] = []
        n_inputs = len(gc.inputs)
        outputs = self._emit(gc, list(range(n_inputs)), ops, [n_inputs])
        program = _eliminate_dead_code(n_inputs, ops, tuple(outputs))
        self.l1[gc.signature] = program
        return program

    def _emit(self, gc: GeneticCode, in_slots: list[int], ops: list[Op], next_slot: list[int]) -> list[int]:
        """Append the ops computing `gc` on `in_slots`; return the slots holding its outputs."""
        if gc.codon is not None:
            fn, template, arity = codon_function(gc)
            first = next_slot[0]
            n_out = len(gc.outputs)
            next_slot[0] += n_out
            out = tuple(range(first, first + n_out))
            ops.append(Op(fn, tuple(in_slots), out, template, arity))
            return list(out)
        graph = gc.graph
        conns = graph.dest_conns
        lookup = self._lookup
        sources: dict[Row, list[int]] = {ROW_I: in_slots}
        if ROW_F in conns:
            row, idx = conns[ROW_F][0]
            condition = sources[row][idx]
        if gc.gca is not None:
            a_in = [sources[r][i] for r, i in conns[ROW_A]]
            sources[ROW_A] = self._emit(lookup(gc.gca), a_in, ops, next_slot)
        if gc.gcb is not None:
            b_in = [sources[r][i] for r, i in conns[ROW_B]]
            sources[ROW_B] = self._emit(lookup(gc.gcb), b_in, ops, next_slot)
        out_slots = [sources[r][i] for r, i in conns[ROW_O]]
        if graph.graph_type in (CGraphType.IF_THEN, CGraphType.IF_THEN_ELSE):
            alt_slots = [sources[r][i] for r, i in conns[ROW_P]]
            selected = []
            for o_slot, p_slot in zip(out_slots, alt_slots, strict=True):
                slot = next_slot[0]
                next_slot[0] += 1
                ops.append(
                    Op(_SELECT_FN, (condition, o_slot, p_slot), (slot,), "select({i0}, {i1}, {i2})", 3)
                )
                selected.append(slot)
            return selected
        return out_slots

    # -- running ------------------------------------------------------------------------------------------
    def evaluate(self, gc: GeneticCode, inputs: Sequence[Any]) -> list[Any]:
        """Run `gc` directly on its inputs (scalars, or numpy arrays holding every case); returns its outputs.

        This walks the GC DAG with each graph's precomputed plan, calling codon functions as it goes: nothing
        is compiled, so a GC seen for the first time costs no more than one already seen. Outputs that are
        constants stay scalars (callers broadcast them).
        """
        with quiet_numpy():
            return self._evaluate(gc, list(inputs))

    def _evaluate(self, gc: GeneticCode, args: list[Any]) -> list[Any]:
        if gc.codon is not None:
            return self._call_codon(gc, args)
        return self._walk(gc, args)

    def _make_walker(self) -> Callable[[GeneticCode, list[Any]], list[Any]]:
        """The recursive evaluator of composite GCs, as a closure over its lookups.

        This is the hot path of vectorised evaluation: free variables of a closure are cheaper to reach than
        attributes, and single-output codon children (half of all nodes) are called inline without recursion.
        """
        fns = self._single_output
        store_get = self._store_get
        lookup = self._lookup
        call_codon = self._call_codon
        standard = CGraphType.STANDARD
        select = _SELECT_FN

        def walk(gc: GeneticCode, args: list[Any]) -> list[Any]:
            # Plan rows by position (A=0, B=1, O=2, F=3, P=4; see graph.PLAN_*): constants index faster
            # than module globals, and one- and two-argument calls are spelled out instead of building an
            # argument list, on a path that runs for every node of every program.
            graph = gc.graph
            plan = graph.plan
            signature = gc.gca
            fn = fns.get(signature)  # type: ignore[arg-type]
            row = plan[0]
            if fn is not None:
                if len(row) == 2:
                    values = [*args, fn(args[row[0]], args[row[1]])]
                elif len(row) == 1:
                    values = [*args, fn(args[row[0]])]
                else:
                    values = [*args, fn(*[args[i] for i in row])]
            else:
                sub = store_get(signature) or lookup(signature)  # type: ignore[arg-type]
                sub_args = [args[i] for i in row]
                out = call_codon(sub, sub_args) if sub.codon is not None else recurse(sub, sub_args)
                values = args + out
            signature = gc.gcb
            if signature is not None:
                fn = fns.get(signature)
                row = plan[1]
                if fn is not None:
                    if len(row) == 2:
                        values.append(fn(values[row[0]], values[row[1]]))
                    elif len(row) == 1:
                        values.append(fn(values[row[0]]))
                    else:
                        values.append(fn(*[values[i] for i in row]))
                else:
                    sub = store_get(signature) or lookup(signature)
                    sub_args = [values[i] for i in row]
                    values += call_codon(sub, sub_args) if sub.codon is not None else recurse(sub, sub_args)
            if graph.graph_type is standard:
                row = plan[2]
                return [values[row[0]]] if len(row) == 1 else [values[i] for i in row]
            condition = values[plan[3][0]]
            return [select(condition, values[o], values[p]) for o, p in zip(plan[2], plan[4], strict=True)]

        # The recursion goes through a weak proxy: a closure naming itself is a reference cycle, which would
        # leave the store it reaches to the cyclic garbage collector.
        recurse = weakref.proxy(walk)
        return walk

    def evaluate_many(self, gcs: Sequence[GeneticCode], inputs: Sequence[Any]) -> list[list[Any]]:
        """`evaluate` for a batch of GCs on the same inputs (numpy warnings silenced once for the batch)."""
        columns = list(inputs)
        with quiet_numpy():
            return [self._evaluate(gc, columns) for gc in gcs]

    def run_vectorised(self, gc: GeneticCode, inputs: Sequence[Any]) -> tuple[Any, ...]:
        """Run `gc` once over input columns (numpy arrays of all cases); constant outputs may be scalars."""
        return tuple(self.evaluate(gc, inputs))

    def scalar_function(self, gc: GeneticCode) -> Callable[..., Any]:
        """A compiled Python function of `gc` taking one argument per input (cached by signature)."""
        fn = self._scalar.get(gc.signature)
        if fn is not None:
            return fn  # type: ignore[no-any-return]
        params = [f"i{k}" for k in range(len(gc.inputs))]
        outputs = self._expressions(gc, params, [0])
        if outputs is None:  # too much shared structure to inline: fall back to one statement per codon
            name, body = _function_source(self.flat(gc), gc.signature)
            code = compile(body, f"<gc {gc.signature.hex()[:16]}>", "exec")
            namespace: dict[str, Any] = dict(RUNTIME_NAMES)
            exec(code, namespace)
            fn = namespace[name]
        else:
            result = outputs[0] if len(outputs) == 1 else "(" + ", ".join(outputs) + ",)"
            # Templates come from the trusted registry only; a GC contributes wiring, never text.
            fn = eval(f"lambda {', '.join(params)}: {result}", self._namespace)
        self._scalar[gc.signature] = fn
        return fn  # type: ignore[no-any-return]

    def _make_inliner(self) -> tuple[_Inliner, _Inliner]:
        """The recursive expression builder for composite GCs, as a closure over its lookups (hot path).

        `length` counts the characters of every codon expression written: shared values are written out
        again at each use, so this is what grows when a GC reuses a sub-GC many times.
        """
        formats = self._formats
        store_get = self._store_get
        lookup = self._lookup
        standard = CGraphType.STANDARD

        def expressions(gc: GeneticCode, args: list[str], length: list[int]) -> list[str] | None:
            # Python expressions for the outputs of `gc` given argument expressions; None if too big.
            if gc.codon is not None:
                if len(gc.outputs) != 1:
                    return None
                fmt = codon_format(gc)
                formats[gc.signature] = fmt
                text = fmt.format(*args)
                length[0] += len(text)
                return None if length[0] > _MAX_EXPRESSION else [text]
            return inline_ref(gc, args, length)

        def inline(gc: GeneticCode, args: list[str], length: list[int]) -> list[str] | None:
            graph = gc.graph
            plan = graph.plan
            signature = gc.gca
            fmt = formats.get(signature)  # type: ignore[arg-type]
            if fmt is not None:
                text = fmt.format(*[args[i] for i in plan[0]])
                length[0] += len(text)
                values = [*args, text]
            else:
                sub = store_get(signature) or lookup(signature)  # type: ignore[arg-type]
                sub_args = [args[i] for i in plan[0]]
                out = (
                    expressions_ref(sub, sub_args, length)
                    if sub.codon is not None
                    else inline_ref(sub, sub_args, length)
                )
                if out is None:
                    return None
                values = args + out
            signature = gc.gcb
            if signature is not None:
                fmt = formats.get(signature)
                if fmt is not None:
                    text = fmt.format(*[values[i] for i in plan[1]])
                    length[0] += len(text)
                    values.append(text)
                else:
                    sub = store_get(signature) or lookup(signature)
                    sub_args = [values[i] for i in plan[1]]
                    out = (
                        expressions_ref(sub, sub_args, length)
                        if sub.codon is not None
                        else inline_ref(sub, sub_args, length)
                    )
                    if out is None:
                        return None
                    values += out
            if length[0] > _MAX_EXPRESSION:
                return None
            if graph.graph_type is standard:
                return [values[i] for i in plan[2]]
            condition = values[plan[3][0]]
            outputs = [
                f"({values[o]} if {condition} else {values[p]})"
                for o, p in zip(plan[2], plan[4], strict=True)
            ]
            length[0] += sum(len(text) for text in outputs)
            return None if length[0] > _MAX_EXPRESSION else outputs

        # Weak proxies for the (mutual) recursion: see _make_walker.
        inline_ref, expressions_ref = weakref.proxy(inline), weakref.proxy(expressions)
        return inline, expressions

    def execute(self, gc: GeneticCode, inputs: Sequence[Any]) -> tuple[Any, ...]:
        """Run `gc` once on one set of inputs (scalars or arrays); always returns a tuple of outputs."""
        result = self.scalar_function(gc)(*inputs)
        return result if len(gc.outputs) != 1 else (result,)

    def source(self, gc: GeneticCode) -> str:
        """Readable, runnable Python for `gc`: imports of the runtime helpers it uses and one function."""
        return source_of(self.flat(gc), gc)


def _eliminate_dead_code(n_inputs: int, ops: list[Op], outputs: tuple[int, ...]) -> FlatProgram:
    """Drop ops none of whose outputs reach an output, and renumber slots densely."""
    live = set(outputs)
    kept: list[Op] = []
    for op in reversed(ops):
        if any(slot in live for slot in op.out):
            kept.append(op)
            live.update(op.args)
    kept.reverse()
    renumber = {k: k for k in range(n_inputs)}
    next_slot = n_inputs
    dense: list[Op] = []
    for op in kept:
        out = []
        for slot in op.out:
            renumber[slot] = next_slot
            out.append(next_slot)
            next_slot += 1
        dense.append(Op(op.fn, tuple(renumber[a] for a in op.args), tuple(out), op.template, op.arity))
    return FlatProgram(n_inputs, next_slot, tuple(dense), tuple(renumber[s] for s in outputs))


def _slot_name(slot: int, n_inputs: int) -> str:
    return f"i{slot}" if slot < n_inputs else f"t{slot - n_inputs}"


def _function_source(program: FlatProgram, signature: bytes) -> tuple[str, str]:
    """The name and source text (without imports) of the function computing `program`."""
    name = "gc_" + signature.hex()[:12]
    n = program.n_inputs
    params = ", ".join(f"i{k}" for k in range(n))
    lines = [f"def {name}({params}):"]
    for op in program.ops:
        args = [_slot_name(a, n) for a in op.args]
        targets = ", ".join(_slot_name(o, n) for o in op.out)
        lines.append(f"    {targets} = {render(op.template, args)}")
    returned = ", ".join(_slot_name(s, n) for s in program.outputs)
    lines.append(f"    return {returned if program.outputs else 'None'}")
    return name, "\n".join(lines) + "\n"


def source_of(program: FlatProgram, gc: GeneticCode) -> str:
    """Readable Python for a flat program: a docstring header, the helper imports and the function."""
    _name, body = _function_source(program, gc.signature)
    used = sorted(
        {
            word
            for op in program.ops
            for word in re.findall(r"[A-Za-z_]\w*", op.template)
            if word in RUNTIME_NAMES
        }
    )
    header = [f'"""EGP genetic code {gc.signature.hex()} ({gc.num_codons} codons)."""', ""]
    imports = [f"from egp.genetic_code.codon_runtime import {', '.join(used)}", ""] if used else []
    return "\n".join([*header, *imports, ""]) + body


def safe_call(fn: Callable[..., Any], *args: Any) -> tuple[Any, str | None]:
    """Call `fn`; return (result, None), or (None, reason) if it raised — a GC's error never escapes."""
    try:
        return fn(*args), None
    except Exception as error:  # a GC may do anything a codon allows; any failure is an evaluation failure
        return None, f"{type(error).__name__}: {error}"

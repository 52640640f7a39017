"""Shared helpers for the genetic-code tests: codon lookup, hand-built GCs and a slow reference interpreter.

The reference interpreter walks a GC's *canonical JSON graph* recursively and evaluates each codon's template
with `eval` over RUNTIME_NAMES. It shares nothing with egp.genetic_code.execution (no plans, no flat
programs, no compiled lambdas), so it is an independent oracle for the executor.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, MutableMapping, Sequence
from typing import Any

import numpy as np

from egp.genetic_code.assembly import Assembler, Expr
from egp.genetic_code.codon_runtime import RUNTIME_NAMES
from egp.genetic_code.codons import codon_registry
from egp.genetic_code.gc import ANONYMOUS_CREATOR, GeneticCode, build_gc
from egp.genetic_code.graph import Row, make_graph
from egp.genetic_code.properties import CGraphType
from egp.genetic_code.types import TYPES

REGISTRY = codon_registry()
FLOAT = TYPES.uid("float")
INT = TYPES.uid("int")
BOOL = TYPES.uid("bool")
STR = TYPES.uid("str")
DTYPES = {FLOAT: np.float64, INT: np.int64, BOOL: np.bool_}


def codon(name: str) -> GeneticCode:
    """The shipped codon with this name."""
    return REGISTRY.by_name(name)


def x(k: int = 0) -> Expr:
    """The expression leaf for GC input k."""
    return Expr(None, (), k)


def call(name: str, *args: Expr) -> Expr:
    """The expression applying the named codon to `args`."""
    return Expr(codon(name), tuple(args))


def lookup(store: Mapping[bytes, GeneticCode], signature: bytes) -> GeneticCode:
    """A GC from the store, or a codon from the registry."""
    gc = store.get(signature) or REGISTRY.get(signature)
    assert gc is not None, signature.hex()
    return gc


# -- hand-built GCs (also the committed signature vectors) ---------------------------------------------------


def square_plus_x(store: MutableMapping[bytes, GeneticCode]) -> GeneticCode:
    """x*x + x over one float input, assembled deterministically with the anonymous creator."""
    expr = call("float_add", call("float_mul", x(), x()), x())
    return Assembler(store, [FLOAT], ANONYMOUS_CREATOR).assemble(expr)


def if_then_square(store: MutableMapping[bytes, GeneticCode]) -> GeneticCode:
    """IF_THEN over inputs (bool c, float x): if c then x*x else x (F = I0, A = float_mul, P = I1)."""
    mul = codon("float_mul")
    graph = make_graph(
        CGraphType.IF_THEN,
        [BOOL, FLOAT],
        {Row.F: [BOOL], Row.A: mul.inputs, Row.O: [FLOAT], Row.P: [FLOAT]},
        {
            Row.F: [(Row.I, 0)],
            Row.A: [(Row.I, 1), (Row.I, 1)],
            Row.O: [(Row.A, 0)],
            Row.P: [(Row.I, 1)],
        },
        {Row.A: mul.outputs},
    )
    gc = build_gc(graph, mul, None)
    return store.setdefault(gc.signature, gc)


def if_then_else(store: MutableMapping[bytes, GeneticCode]) -> GeneticCode:
    """IF_THEN_ELSE over (bool c, float x): if c then x*x + x else -x (A = square_plus_x, B = float_neg)."""
    gca = square_plus_x(store)
    neg = codon("float_neg")
    graph = make_graph(
        CGraphType.IF_THEN_ELSE,
        [BOOL, FLOAT],
        {Row.F: [BOOL], Row.A: gca.inputs, Row.B: neg.inputs, Row.O: [FLOAT], Row.P: [FLOAT]},
        {
            Row.F: [(Row.I, 0)],
            Row.A: [(Row.I, 1)],
            Row.B: [(Row.I, 1)],
            Row.O: [(Row.A, 0)],
            Row.P: [(Row.B, 0)],
        },
        {Row.A: gca.outputs, Row.B: neg.outputs},
    )
    gc = build_gc(graph, gca, neg)
    return store.setdefault(gc.signature, gc)


def positive_square(store: MutableMapping[bytes, GeneticCode]) -> GeneticCode:
    """One float input: if x > 0 then x*x else x — a STANDARD GC computing x > 0.0 (A) feeding IF_THEN (B)."""
    condition = Assembler(store, [FLOAT]).assemble(call("float_gt", x(), call("lit_float_0")))
    branch = if_then_square(store)
    graph = make_graph(
        CGraphType.STANDARD,
        [FLOAT],
        {Row.A: condition.inputs, Row.B: branch.inputs, Row.O: [FLOAT]},
        {Row.A: [(Row.I, 0)], Row.B: [(Row.A, 0), (Row.I, 0)], Row.O: [(Row.B, 0)]},
        {Row.A: condition.outputs, Row.B: branch.outputs},
    )
    gc = build_gc(graph, condition, branch)
    return store.setdefault(gc.signature, gc)


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


# -- the slow reference interpreter --------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\{i(\d+)\}")


def reference_eval(gc: GeneticCode, store: Mapping[bytes, GeneticCode], inputs: Sequence[Any]) -> list[Any]:
    """Evaluate `gc` by walking its canonical JSON graph, row by row, recursively.

    Inputs are scalars, or numpy columns (then a condition row F selects elementwise with np.where).
    """
    if gc.codon is not None:
        names = {f"_a{k}": value for k, value in enumerate(inputs)}
        expression = _PLACEHOLDER.sub(lambda m: f"_a{m.group(1)}", gc.codon.inline)
        value = eval(expression, {**RUNTIME_NAMES, **names})
        return [value] if len(gc.outputs) == 1 else list(value)
    graph = gc.graph.to_json()
    sources: dict[str, list[Any]] = {"I": list(inputs)}

    def fetch(row: str) -> list[Any]:
        return [sources[src_row][src_idx] for src_row, src_idx, _type in graph[row]]

    for row, ref in (("A", gc.gca), ("B", gc.gcb)):
        if row in graph:
            assert ref is not None
            sources[row] = reference_eval(lookup(store, ref), store, fetch(row))
    if "F" in graph:
        (condition,) = fetch("F")
        if isinstance(condition, np.ndarray):
            return [np.where(condition, o, p) for o, p in zip(fetch("O"), fetch("P"), strict=True)]
        return fetch("O") if condition else fetch("P")
    return fetch("O")


def same(a: Any, b: Any) -> bool:
    """Equal values, where NaN equals NaN."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)


def arrays_equal(a: Any, b: Any) -> bool:
    """Two vectorised outputs (arrays or broadcasting scalars) are equal elementwise, NaN equal to NaN."""
    left, right = np.broadcast_arrays(np.asarray(a), np.asarray(b))
    if left.dtype.kind == "f" or right.dtype.kind == "f":
        return bool(np.array_equal(left, right, equal_nan=True))
    return bool(np.array_equal(left, right))


def column(values: Sequence[Any], type_uid: int) -> np.ndarray:
    """A numpy column of the right dtype (float64, int64 or bool) for a list of scalar values."""
    return np.array(values, dtype=DTYPES[type_uid])


def columns_equal(vector: Any, scalars: Sequence[Any], type_uid: int) -> bool:
    """A vectorised output (array, or a scalar constant that broadcasts) equals the scalar results."""
    expected = column(scalars, type_uid)
    actual = np.broadcast_to(np.asarray(vector), expected.shape)
    if type_uid == FLOAT:
        return bool(np.array_equal(actual.astype(np.float64), expected, equal_nan=True))
    return bool(np.array_equal(actual, expected))
